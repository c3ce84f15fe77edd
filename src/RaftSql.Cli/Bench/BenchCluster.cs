using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace RaftSql.Cli.Bench;

/// <summary>Three in-process nodes on loopback with the default timers, each in its own data directory (the
/// write, read and failover phases; the bulk phase runs on <see cref="ChildCluster"/>).</summary>
internal sealed class BenchCluster : IAsyncDisposable
{
    private static readonly TimeSpan AgreementTimeout = TimeSpan.FromSeconds(30);
    private readonly string _root;
    private readonly NodeInfo[] _members;
    private readonly Dictionary<ulong, Node> _running = [];

    private BenchCluster(string root, NodeInfo[] members)
    {
        _root = root;
        _members = members;
    }

    public static async Task<BenchCluster> StartAsync(string root)
    {
        NodeInfo[] members = [.. Enumerable.Range(1, 3).Select(i => new NodeInfo((ulong)i, $"127.0.0.1:{FreePort()}"))];
        var cluster = new BenchCluster(root, members);
        foreach (var member in members)
            await cluster.StartNodeAsync(member.Id).ConfigureAwait(false);
        return cluster;
    }

    public IEnumerable<Node> Running => _running.Values;

    /// <summary>Starts node <paramref name="id"/>, or restarts it from its data directory.</summary>
    public async Task StartNodeAsync(ulong id)
    {
        var node = new Node(new NodeOptions
        {
            Id = id,
            Address = _members.Single(m => m.Id == id).Address,
            DataDirectory = Path.Combine(_root, $"node{id}"),
            InitialCluster = _members,
            // Failover is measured as after a crash: a stopping leader does not hand over, so the
            // others notice its silence and elect a new leader after an election timeout.
            HandOverLeadershipOnStop = false,
        });
        await node.StartAsync().ConfigureAwait(false);
        _running[id] = node;
    }

    /// <summary>Stops node <paramref name="id"/> without a leadership hand-over (the cluster sees it vanish).</summary>
    public async Task StopNodeAsync(ulong id)
    {
        if (_running.Remove(id, out var node))
            await node.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Waits until every running node names the same leader, and returns it.</summary>
    public async Task<Node> WaitForLeaderAsync()
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var leaders = _running.Values.Where(n => n.IsLeader).ToList();
            if (leaders.Count == 1 && _running.Values.All(n => n.LeaderId == leaders[0].Id))
                return leaders[0];
            if (clock.Elapsed > AgreementTimeout)
                throw new RaftSqlException(RaftSqlErrorCode.NoLeader, $"The bench cluster elected no leader within {AgreementTimeout.TotalSeconds:0} s.");
            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    /// <summary>Waits until every running node has applied <paramref name="index"/>.</summary>
    public Task WaitForAllAppliedAsync(ulong index) =>
        Task.WhenAll(_running.Values.Select(n => n.WaitForAppliedAsync(index)))
            .WaitAsync(AgreementTimeout);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var id in _running.Keys.ToList())
            await StopNodeAsync(id).ConfigureAwait(false);
    }
}
