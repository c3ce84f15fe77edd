using Microsoft.Extensions.Logging;

namespace RaftSql;

/// <summary>Everything a <see cref="Node"/> needs to start.</summary>
public sealed class NodeOptions
{
    /// <summary>This node's id, unique in the cluster and never reused. Must not be 0.</summary>
    public ulong Id { get; set; }

    /// <summary>The address ("host:port") other nodes and clients use to reach this node.</summary>
    public string Address { get; set; } = "";

    /// <summary>The address to listen on, when it differs from <see cref="Address"/> (e.g. "0.0.0.0:9001").</summary>
    public string? BindAddress { get; set; }

    /// <summary>Where the Raft log and the databases live. Created when missing.</summary>
    public string DataDirectory { get; set; } = "";

    /// <summary>
    /// The members the cluster starts with, the same list on every founding node. Leave empty on a node
    /// that joins a running cluster (it is added with <see cref="ClusterClient.AddAsync"/>). Ignored
    /// when the data directory already holds state.
    /// </summary>
    public IReadOnlyList<NodeInfo> InitialCluster { get; set; } = [];

    /// <summary>The Raft clock: heartbeats go out every tick.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The election timeout is chosen at random between this and twice this.</summary>
    public TimeSpan ElectionTimeout { get; set; } = TimeSpan.FromMilliseconds(600);

    /// <summary>How long a write may wait for the cluster to commit it.</summary>
    public TimeSpan CommitTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a request forwarded to another node may take.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The consistency of reads that do not ask for one.</summary>
    public ReadConsistency DefaultReadConsistency { get; set; } = ReadConsistency.Session;

    /// <summary>When a leader stops, it first hands leadership to the most up-to-date voter, so writes
    /// pause for a round trip instead of an election timeout. Turn off to stop at once.</summary>
    public bool HandOverLeadershipOnStop { get; set; } = true;

    /// <summary>The largest message accepted from the network.</summary>
    public int MaxMessageSize { get; set; } = 64 * 1024 * 1024;

    /// <summary>Where logs go; none by default.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Keep the Raft log from growing past this many applied entries: older ones are compacted
    /// once the databases are durable past them (a lagging node then catches up by snapshot).</summary>
    public int CompactionThreshold { get; set; } = 8192;

    /// <summary>Tests inject partitions, loss and delay into the node's traffic through this.</summary>
    internal Transport.FaultInjector? Faults { get; set; }

    /// <summary>The clock, scheduler and loop mode; the whole-node simulator injects its own.</summary>
    internal Hosting.NodeRuntime Runtime { get; set; } = Hosting.NodeRuntime.Production;

    internal void Validate()
    {
        if (Id == 0)
            throw new ArgumentException("NodeOptions.Id must not be 0.", nameof(Id));
        if (string.IsNullOrWhiteSpace(Address))
            throw new ArgumentException("NodeOptions.Address is required.", nameof(Address));
        if (string.IsNullOrWhiteSpace(DataDirectory))
            throw new ArgumentException("NodeOptions.DataDirectory is required.", nameof(DataDirectory));
        if (HeartbeatInterval <= TimeSpan.Zero)
            throw new ArgumentException("HeartbeatInterval must be positive.", nameof(HeartbeatInterval));
        if (ElectionTimeout < HeartbeatInterval * 2)
            throw new ArgumentException("ElectionTimeout must be at least two heartbeats.", nameof(ElectionTimeout));
        if (CompactionThreshold < 2)
            throw new ArgumentException("CompactionThreshold must be at least 2.", nameof(CompactionThreshold));
        if (InitialCluster.Count > 0 && InitialCluster.All(m => m.Id != Id))
            throw new ArgumentException("InitialCluster must include this node.", nameof(InitialCluster));
        if (InitialCluster.Select(m => m.Id).Distinct().Count() != InitialCluster.Count)
            throw new ArgumentException("InitialCluster lists an id twice.", nameof(InitialCluster));
    }
}
