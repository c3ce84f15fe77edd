using RaftSql.Protocol;
using RaftSql.Raft;

namespace RaftSql.Simulation;

/// <summary>
/// The membership fault: a voter (the leader too, sometimes) is removed, or made a spare (it receives nothing),
/// stays out for a while (it keeps running on its old state), then is added back, or assigned, as a standby
/// through the gateway's public requests, catches up and is promoted by the leader. One change at a time; each request goes to whichever node leads now, and
/// is retried after any failure until the member is a voter again.
/// </summary>
internal sealed class SimMembership(SimCluster cluster, Random random)
{
    private const long Ms = 1000;
    private ulong _member; // the voter being taken out and back; 0 when idle
    private bool _readding; // removed: now being added back
    private bool _toSpare; // this cycle makes the member a spare instead of removing it
    private long _notBefore;
    private (SimNode Node, int Incarnation, Task<ClientResponse> Task)? _pending;

    /// <summary>Completed cycles (removed or made a spare, then a voter again).</summary>
    public int Cycles { get; private set; }

    /// <summary>No change under way, and the newest leader counts every initial member as a voter.</summary>
    public bool Idle => _member == 0 && Leader() is { } leader && AllVote(leader);

    /// <summary>Starts the reconciling loop (every 20 ms until the end of the seed).</summary>
    public void Run() => cluster.Scheduler.After(20 * Ms, Step);

    /// <summary>Starts a cycle when none is under way and every initial member is a voter.</summary>
    public void Begin()
    {
        if (_member != 0 || Leader() is not { } leader || !AllVote(leader))
        {
            cluster.Trace.Add("membership: busy, no leader, or not every member votes yet");
            return;
        }
        var voters = cluster.InitialMembers.Select(m => m.Id).ToList();
        _member = voters[random.Next(voters.Count)];
        _readding = false;
        _toSpare = random.Next(2) == 0;
        cluster.Trace.Add($"membership: take {_member} out and back{(_toSpare ? " as a spare" : "")} (leader {leader.Id})");
    }

    private bool AllVote(SimNode leader) => cluster.InitialMembers.All(m => leader.Host.Status.Membership.IsVoter(m.Id));

    private SimNode? Leader() =>
        cluster.Network.Nodes.Values.Where(n => n.IsUp && n.Host.Status.IsLeader).MaxBy(n => n.Host.Status.Term);

    /// <summary>
    /// One look at the newest leader's membership, and at most one request. A leader's view can be stale (a
    /// removed member that never learned its removal may still win an election among members that have not
    /// applied it either), so the loop never trusts one look: it keeps adding back any initial member the
    /// current leader lacks until the end of the seed.
    /// </summary>
    private void Step()
    {
        cluster.Scheduler.After(20 * Ms, Step);
        if (_pending is { } pending)
        {
            // A request whose node died is abandoned (its outcome shows in the membership).
            if (!pending.Task.IsCompleted && pending.Node.IsUp && pending.Node.Incarnation == pending.Incarnation)
                return;
            _pending = null;
            cluster.Trace.Add($"membership: request on {pending.Node.Id} ended "
                + (pending.Task.IsCompletedSuccessfully ? pending.Task.Result.ResponseCase.ToString()
                    : pending.Task.IsCompleted ? (pending.Task.Exception?.InnerException as RaftSqlException)?.Code.ToString() ?? "failed" : "abandoned"));
        }
        if (cluster.Scheduler.Now < _notBefore || Leader() is not { } leader)
            return;
        var membership = leader.Host.Status.Membership;
        ClientRequest? request = null;
        if (_member != 0 && !_readding)
        {
            var current = membership.Find(_member);
            if (_toSpare ? current is { Role: MemberRole.Spare } : current is null)
            {
                _readding = true;
                _notBefore = cluster.Scheduler.Now + 50 * Ms + random.NextInt64(500 * Ms); // out for a while
                cluster.Trace.Add($"membership: {_member} {(_toSpare ? "is a spare" : "removed")}");
                return;
            }
            request = _toSpare
                ? new ClientRequest { AssignRole = new AssignRoleRequest { Id = _member, Role = Protocol.NodeRole.Spare } }
                : new ClientRequest { RemoveNode = new RemoveNodeRequest { Id = _member } };
        }
        else if (cluster.InitialMembers.FirstOrDefault(m => membership.Find(m.Id) is null) is { } missing)
        {
            request = new ClientRequest
            {
                AddNode = new AddNodeRequest { Id = missing.Id, Address = missing.Address, Role = Protocol.NodeRole.Standby },
            };
        }
        else if (cluster.InitialMembers.FirstOrDefault(m => membership.Find(m.Id) is { Role: MemberRole.Spare }) is { } spare)
        {
            request = new ClientRequest { AssignRole = new AssignRoleRequest { Id = spare.Id, Role = Protocol.NodeRole.Standby } };
        }
        else if (_member != 0 && AllVote(leader))
        {
            cluster.Trace.Add($"membership: {_member} is a voter again (leader {leader.Id})");
            _member = 0;
            Cycles++;
        }
        // Otherwise a standby is catching up: the leader promotes it.
        if (request is null)
            return;
        cluster.Trace.Add($"membership: {request.RequestCase} on {leader.Id}");
        _pending = (leader, leader.Incarnation, leader.SessionFor(0).HandleAsync(request, CancellationToken.None));
    }
}
