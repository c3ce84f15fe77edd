using System.Net;
using System.Net.Sockets;
using RaftSql.Transport;

namespace RaftSql.Data.Tests.Infrastructure;

/// <summary>In-process nodes on loopback with fast timers, each in its own temporary data directory.</summary>
internal sealed class LocalCluster : IAsyncDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "raftsql-data-" + Guid.NewGuid().ToString("N"));
    private readonly Dictionary<ulong, Node> _nodes = [];
    private readonly List<NodeInfo> _infos = [];

    public FaultInjector Faults { get; } = new();

    public IReadOnlyCollection<Node> Running => _nodes.Values;

    public Node this[ulong id] => _nodes[id];

    /// <summary>All node addresses (running or not), for a <c>Nodes=</c> connection string.</summary>
    public string Nodes => string.Join(",", _infos.Select(i => i.Address));

    public string ConnectionString(string database, ReadConsistency consistency = ReadConsistency.Session) =>
        new RaftSqlConnectionStringBuilder { Nodes = Nodes, Database = database, ReadConsistency = consistency, DefaultTimeout = 30 }.ConnectionString;

    public static async Task<LocalCluster> StartAsync(int size = 3)
    {
        var cluster = new LocalCluster();
        cluster._infos.AddRange(Enumerable.Range(1, size).Select(i => new NodeInfo((ulong)i, $"127.0.0.1:{FreePort()}")));
        foreach (NodeInfo info in cluster._infos)
            await cluster.StartNodeAsync(info.Id);
        await cluster.WaitForLeaderAsync();
        return cluster;
    }

    /// <summary>Starts node <paramref name="id"/>, or restarts it from its data directory after a stop.</summary>
    public async Task<Node> StartNodeAsync(ulong id)
    {
        NodeInfo info = _infos.Single(i => i.Id == id);
        var node = new Node(new NodeOptions
        {
            Id = info.Id,
            Address = info.Address,
            DataDirectory = Path.Combine(_root, $"node{info.Id}"),
            InitialCluster = _infos,
            HeartbeatInterval = TimeSpan.FromMilliseconds(50),
            ElectionTimeout = TimeSpan.FromMilliseconds(400),
            CommitTimeout = TimeSpan.FromSeconds(20),
            RequestTimeout = TimeSpan.FromSeconds(20),
            Faults = Faults,
        });
        await node.StartAsync();
        _nodes[info.Id] = node;
        return node;
    }

    public async Task StopNodeAsync(ulong id)
    {
        if (_nodes.Remove(id, out Node? node))
            await node.DisposeAsync();
    }

    /// <summary>Waits until the running nodes agree on one leader, and returns it.</summary>
    public async Task<Node> WaitForLeaderAsync()
    {
        Node? leader = null;
        await Eventually.TrueAsync(() =>
        {
            List<Node> leaders = _nodes.Values.Where(n => n.IsLeader).ToList();
            leader = leaders.Count == 1 && _nodes.Values.All(n => n.LeaderId == leaders[0].Id) ? leaders[0] : null;
            return leader is not null;
        }, "a single leader");
        return leader!;
    }

    public Node AFollower() => _nodes.Values.First(n => !n.IsLeader);

    public async ValueTask DisposeAsync()
    {
        foreach (Node node in _nodes.Values.ToList())
            await node.DisposeAsync();
        _nodes.Clear();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private static int FreePort() => RaftSql.Testing.TestPorts.Next();
}

internal static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> after 30 s.</summary>
    public static async Task TrueAsync(Func<bool> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Timed out waiting for {what}.");
            await Task.Delay(20);
        }
    }
}
