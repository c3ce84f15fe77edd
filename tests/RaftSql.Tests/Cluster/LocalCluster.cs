using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using RaftSql.Transport;

namespace RaftSql.Tests.Cluster;

/// <summary>In-process nodes on loopback with fast timers, each in its own temporary data directory.</summary>
internal sealed class LocalCluster : IAsyncDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "raftsql-cluster-" + Guid.NewGuid().ToString("N"));
    private readonly Dictionary<ulong, Node> _nodes = [];

    public FaultInjector Faults { get; } = new();

    public Dictionary<ulong, NodeInfo> Infos { get; } = [];

    /// <summary>What each node logged (kept across restarts).</summary>
    public ConcurrentDictionary<ulong, EventRecorder> Events { get; } = new();

    public IReadOnlyCollection<Node> Running => _nodes.Values;

    public Node this[ulong id] => _nodes[id];

    public static async Task<LocalCluster> StartAsync(int size, int compactionThreshold = 8192, Action<NodeOptions>? configure = null)
    {
        var cluster = new LocalCluster { CompactionThreshold = compactionThreshold, Configure = configure };
        var infos = Enumerable.Range(1, size).Select(i => new NodeInfo((ulong)i, $"127.0.0.1:{FreePort()}")).ToList();
        foreach (var info in infos)
            cluster.Infos[info.Id] = info;
        foreach (var info in infos)
            await cluster.StartNodeAsync(info.Id, infos);
        return cluster;
    }

    public int CompactionThreshold { get; init; } = 8192;

    /// <summary>Adjusts every node's options (timers, timeouts) before it starts, restarts included.</summary>
    public Action<NodeOptions>? Configure { get; init; }

    public string DataDirectory(ulong id) => Path.Combine(_root, $"node{id}");

    /// <summary>Starts (or restarts) node <paramref name="id"/>; an empty <paramref name="initialCluster"/> joins later.</summary>
    public async Task<Node> StartNodeAsync(ulong id, IReadOnlyList<NodeInfo>? initialCluster = null)
    {
        if (!Infos.ContainsKey(id))
            Infos[id] = new NodeInfo(id, $"127.0.0.1:{FreePort()}");
        var options = new NodeOptions
        {
            Id = id,
            Address = Infos[id].Address,
            DataDirectory = DataDirectory(id),
            InitialCluster = initialCluster ?? [],
            HeartbeatInterval = TimeSpan.FromMilliseconds(50),
            ElectionTimeout = TimeSpan.FromMilliseconds(400),
            CommitTimeout = TimeSpan.FromSeconds(20),
            RequestTimeout = TimeSpan.FromSeconds(20),
            CompactionThreshold = CompactionThreshold,
            Faults = Faults,
            LoggerFactory = Events.GetOrAdd(id, _ => new EventRecorder()),
        };
        Configure?.Invoke(options);
        var node = new Node(options);
        await node.StartAsync();
        _nodes[id] = node;
        return node;
    }

    public async Task StopNodeAsync(ulong id)
    {
        if (_nodes.Remove(id, out var node))
            await node.DisposeAsync();
    }

    /// <summary>Waits until the running nodes agree on one leader, and returns it.</summary>
    public async Task<Node> WaitForLeaderAsync(TimeSpan? timeout = null)
    {
        Node? leader = null;
        await Eventually.TrueAsync(() =>
        {
            var leaders = _nodes.Values.Where(n => n.IsLeader).ToList();
            if (leaders.Count != 1)
                return false;
            // Spares receive nothing, so only the members that replicate must agree.
            var replicating = leaders[0].Members.Where(m => m.Role != NodeRole.Spare).Select(m => m.Id).ToHashSet();
            leader = _nodes.Values.Where(n => replicating.Contains(n.Id)).All(n => n.LeaderId == leaders[0].Id) ? leaders[0] : null;
            return leader is not null;
        }, timeout ?? TimeSpan.FromSeconds(30), "a single leader");
        return leader!;
    }

    public ClusterClient Client() => new(_nodes.Values.Select(n => n.Address));

    /// <summary>Dumps every replicating node's copy of <paramref name="database"/> after all applied the same index.</summary>
    public async Task<Dictionary<ulong, byte[]>> DumpAllAsync(string database)
    {
        var leader = await WaitForLeaderAsync();
        var marker = await leader.ExecuteAsync(database, "PRAGMA user_version");
        var target = Math.Max(marker.RaftIndex, leader.AppliedIndex);
        // Spares receive nothing: compare the nodes that replicate.
        var replicating = leader.Members.Where(m => m.Role != NodeRole.Spare).Select(m => m.Id).ToHashSet();
        var nodes = _nodes.Values.Where(n => replicating.Contains(n.Id)).ToList();
        await Eventually.TrueAsync(() => nodes.All(n => n.AppliedIndex >= target), TimeSpan.FromSeconds(30), "all nodes applied");
        var dumps = new Dictionary<ulong, byte[]>();
        foreach (var node in nodes)
        {
            var path = Path.Combine(_root, $"dump-{node.Id}-{Guid.NewGuid():N}.db");
            await node.DumpAsync(database, path);
            dumps[node.Id] = await File.ReadAllBytesAsync(path);
        }
        return dumps;
    }

    public static int FreePort() => RaftSql.Testing.TestPorts.Next();

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes.Values.ToList())
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
}

internal static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static async Task TrueAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s waiting for {what}.");
            await Task.Delay(20);
        }
    }

    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s waiting for {what}.");
            await Task.Delay(50);
        }
    }
}

/// <summary>Cluster tests run one at a time: several clusters with fast timers on two cores would
/// trigger elections that no real deployment sees.</summary>
[CollectionDefinition(Collection)]
public sealed class ClusterTests
{
    public const string Collection = "In-process clusters";
}
