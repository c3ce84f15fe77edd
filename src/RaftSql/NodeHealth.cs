namespace RaftSql;

/// <summary>The state of a node, as <see cref="Node.Health"/> reports it.</summary>
public enum NodeHealthState
{
    /// <summary>The node follows (or is) a leader and has applied everything it knows is committed.</summary>
    Healthy = 0,

    /// <summary>The node has not applied everything it knows is committed yet (it is catching up, e.g. after
    /// a restart or while it installs a snapshot).</summary>
    CatchingUp = 1,

    /// <summary>No leader is known: an election is running, or this node is cut off from the majority.
    /// Writes and reads above Local wait for a leader and then fail with NoLeader.</summary>
    NoLeader = 2,

    /// <summary>The node's Raft loop failed: it takes part in consensus no more. It serves only Local reads
    /// (its last applied state, which will not advance); writes and Session, Lease and Linearizable reads fail
    /// with NodeStopped. Stop the node and start it again.</summary>
    Failed = 3,

    /// <summary>The node is not started, or it was stopped.</summary>
    Stopped = 4,
}

/// <summary>What <see cref="Node.Health"/> reports: the state and, unless healthy, why.</summary>
/// <param name="State">The node's state.</param>
/// <param name="Reason">Why the node is not healthy (for <see cref="NodeHealthState.Failed"/>, the loop's
/// failure); null when healthy.</param>
public sealed record NodeHealth(NodeHealthState State, string? Reason)
{
    public static NodeHealth Healthy { get; } = new(NodeHealthState.Healthy, null);

    public bool IsHealthy => State == NodeHealthState.Healthy;
}
