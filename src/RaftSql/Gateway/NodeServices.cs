using RaftSql.Hosting;
using RaftSql.Protocol;

namespace RaftSql.Gateway;

/// <summary>The pieces of a running node that request handlers use.</summary>
internal sealed class NodeServices(NodeOptions options, RaftHost host, LocalDatabases databases, RequestRouter router)
{
    public NodeOptions Options => options;

    public RaftHost Host => host;

    public LocalDatabases Databases => databases;

    public RequestRouter Router => router;

    /// <summary>The membership as this node knows it.</summary>
    public IEnumerable<Protocol.NodeInfo> Members()
    {
        var status = host.Status;
        return status.Membership.Members.Select(m =>
            WireMapper.ToWire(new RaftSql.NodeInfo(m.Id, m.Address, WireMapper.ToNodeRole(m.Role)), m.Id == status.LeaderId));
    }

    public Description Describe()
    {
        var status = host.Status;
        var self = status.Membership.Find(options.Id);
        var description = new Description
        {
            Node = WireMapper.ToWire(new RaftSql.NodeInfo(options.Id, options.Address,
                self is null ? NodeRole.Spare : WireMapper.ToNodeRole(self.Role)), status.IsLeader),
            Term = status.Term,
            LeaderId = status.LeaderId,
            CommitIndex = status.Commit,
            AppliedIndex = status.Applied,
        };
        description.Databases.AddRange(host.Engine.Databases);
        return description;
    }

    /// <summary>Hands leadership to <paramref name="target"/> (0: the most up-to-date voter) and waits until it leads.</summary>
    public async Task TransferLeadershipAsync(ulong target, CancellationToken cancellationToken)
    {
        if (target == 0)
            target = await host.BestTransferTargetAsync().ConfigureAwait(false);
        if (target == 0)
            throw new RaftSqlException(RaftSqlErrorCode.MembershipChangeRejected, "There is no other voter to hand leadership to.");
        if (target == options.Id && host.Status.IsLeader)
            return;
        if (!host.Status.Membership.IsVoter(target))
            throw new RaftSqlException(RaftSqlErrorCode.MembershipChangeRejected, $"Node {target} is not a voter.");
        var time = options.Runtime.Time;
        var deadline = time.GetUtcNow() + options.ElectionTimeout * 3;
        host.TransferLeadership(target);
        while (host.Status.LeaderId != target)
        {
            if (time.GetUtcNow() > deadline)
                throw new RaftSqlException(RaftSqlErrorCode.Timeout, $"Leadership did not move to node {target} in time.");
            await Task.Delay(options.HeartbeatInterval / 2, time, cancellationToken).ConfigureAwait(false);
        }
    }
}
