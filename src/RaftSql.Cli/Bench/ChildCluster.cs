using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace RaftSql.Cli.Bench;

/// <summary>
/// Three fresh `raftsql node` child processes on loopback (default timers), each measurable on its own,
/// and a <see cref="ClusterClient"/> to them. Disposing stops them all: SIGTERM, then a kill.
/// </summary>
internal sealed class ChildCluster : IAsyncDisposable
{
    private static readonly TimeSpan AgreementTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);
    private readonly List<NodeChild> _nodes;
    private readonly ClusterClient[] _nodeClients;

    private ChildCluster(List<NodeChild> nodes, TimeSpan clientTimeout)
    {
        _nodes = nodes;
        Client = new ClusterClient(nodes.Select(n => n.Member.Address), clientTimeout);
        _nodeClients = [.. nodes.Select(n => new ClusterClient([n.Member.Address], clientTimeout))];
    }

    /// <summary>Starts the three nodes with data and output under <paramref name="directory"/>; the client's
    /// calls may take <paramref name="clientTimeout"/>.</summary>
    public static async Task<ChildCluster> StartAsync(string directory, TimeSpan clientTimeout)
    {
        Directory.CreateDirectory(directory);
        NodeInfo[] members = [.. Enumerable.Range(1, 3).Select(i => new NodeInfo((ulong)i, $"127.0.0.1:{FreePort()}"))];
        var nodes = new List<NodeChild>();
        try
        {
            foreach (var member in members)
                nodes.Add(NodeChild.Start(member, members, directory));
        }
        catch
        {
            await StopAllAsync(nodes).ConfigureAwait(false);
            throw;
        }
        return new ChildCluster(nodes, clientTimeout);
    }

    public IReadOnlyList<NodeChild> Nodes => _nodes;

    /// <summary>Talks to all three.</summary>
    public ClusterClient Client { get; }

    /// <summary>Waits until the nodes agree on a leader, and returns it. Fails, with the node's standard error,
    /// as soon as a node exits.</summary>
    public async Task<NodeInfo> WaitForLeaderAsync()
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            ThrowIfAnyExited("while the cluster was starting");
            try
            {
                if (await Client.GetLeaderAsync().ConfigureAwait(false) is { } leader)
                    return leader;
            }
            catch (RaftSqlException ex) when (ex.Code is RaftSqlErrorCode.Unavailable or RaftSqlErrorCode.NodeStopped or RaftSqlErrorCode.Timeout)
            {
                // Not listening yet.
            }
            if (clock.Elapsed > AgreementTimeout)
            {
                throw new RaftSqlException(RaftSqlErrorCode.NoLeader,
                    $"The bench's node processes elected no leader within {AgreementTimeout.TotalSeconds:0} s; {string.Join("; ", _nodes.Select(n => n.Describe()))}");
            }
            await Task.Delay(PollInterval).ConfigureAwait(false);
        }
    }

    /// <summary>Waits until every node's own answer (a Local read) to <paramref name="scalarSql"/> is at least
    /// <paramref name="atLeast"/>: e.g. the largest rowid of a table once a write is applied there.</summary>
    public Task WaitForAllAsync(string database, string scalarSql, long atLeast, TimeSpan timeout) =>
        Task.WhenAll(_nodeClients.Select(async client =>
        {
            while (await ScalarAsync(client, database, scalarSql).ConfigureAwait(false) < atLeast)
            {
                ThrowIfAnyExited("while the others applied the write");
                await Task.Delay(PollInterval).ConfigureAwait(false);
            }
        })).WaitAsync(timeout);

    /// <summary>The node's answer; -1 while it has not applied the database or table yet, or gave no integer.</summary>
    private static async Task<long> ScalarAsync(ClusterClient node, string database, string sql)
    {
        try
        {
            var result = await node.QueryAsync(database, sql, consistency: ReadConsistency.Local).ConfigureAwait(false);
            return result.Scalar is long value ? value : -1;
        }
        catch (RaftSqlException ex) when (ex.Code is RaftSqlErrorCode.UnknownDatabase or RaftSqlErrorCode.SqlError)
        {
            return -1;
        }
    }

    private void ThrowIfAnyExited(string when)
    {
        if (_nodes.FirstOrDefault(n => n.HasExited) is { } gone)
            throw new RaftSqlException(RaftSqlErrorCode.Unavailable, $"A bench node process exited {when}: {gone.Describe()}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Stops every node, each gracefully if it can be, whatever happens to the others.</summary>
    private static Task StopAllAsync(IEnumerable<NodeChild> nodes) =>
        Task.WhenAll(nodes.Select(async node =>
        {
            try
            {
                await node.StopAsync(StopGrace).ConfigureAwait(false);
            }
            finally
            {
                await node.DisposeAsync().ConfigureAwait(false);
            }
        }));

    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (var client in _nodeClients.Append(Client))
                await client.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            await StopAllAsync(_nodes).ConfigureAwait(false);
        }
    }
}
