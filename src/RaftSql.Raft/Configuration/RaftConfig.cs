namespace RaftSql.Raft;

/// <summary>Settings of one Raft member. Times are in ticks: the host decides how long a tick is.</summary>
public sealed record RaftConfig
{
    public required ulong Id { get; init; }

    /// <summary>Base election timeout; a follower waits a random value in [ElectionTicks, 2*ElectionTicks).</summary>
    public int ElectionTicks { get; init; } = 10;

    public int HeartbeatTicks { get; init; } = 1;

    /// <summary>Raft thesis 9.6: probe with a pre-vote before disrupting the cluster with a new term.</summary>
    public bool PreVote { get; init; } = true;

    /// <summary>A leader steps down when it has not heard from a quorum within an election timeout.</summary>
    public bool CheckQuorum { get; init; } = true;

    /// <summary>Clock drift margin: the lease lasts ElectionTicks - LeaseDriftTicks after a quorum acknowledged.</summary>
    public int LeaseDriftTicks { get; init; } = 1;

    /// <summary>How many append messages may be in flight to one follower in the replicate state.</summary>
    public int MaxInflightMessages { get; init; } = 256;

    /// <summary>Entry bytes that may be in flight to one follower in the replicate state; 0 = no limit besides
    /// <see cref="MaxInflightMessages"/>. Bounds what a leader buffers for a slow follower.</summary>
    public long MaxInflightBytes { get; init; }

    /// <summary>Upper bound of the entry payload bytes in one append message (at least one entry is always sent).</summary>
    public long MaxBytesPerMessage { get; init; } = 1024 * 1024;

    /// <summary>Leader-confirmation (ReadIndex) heartbeat rounds a leader keeps in flight at once; reads that
    /// arrive meanwhile share the next round.</summary>
    public int MaxReadRoundsInFlight { get; init; } = 4;

    /// <summary>Proposals are dropped while the leader holds more uncommitted payload bytes than this; 0 = no limit.</summary>
    public long MaxUncommittedBytes { get; init; }

    /// <summary>Promote a caught-up standby to voter automatically.</summary>
    public bool AutoPromote { get; init; } = true;

    /// <summary>A standby counts as caught up when its match index is within this many entries of the leader's last index.</summary>
    public ulong PromotionLag { get; init; } = 100;

    public required IRandomSource Random { get; init; }

    internal void Validate()
    {
        if (Id == 0) throw new ArgumentException("Id 0 is reserved for 'none'.", nameof(Id));
        if (HeartbeatTicks <= 0) throw new ArgumentException("HeartbeatTicks must be positive.", nameof(HeartbeatTicks));
        if (ElectionTicks <= HeartbeatTicks)
            throw new ArgumentException("ElectionTicks must be greater than HeartbeatTicks.", nameof(ElectionTicks));
        if (LeaseDriftTicks < 0 || LeaseDriftTicks >= ElectionTicks)
            throw new ArgumentException("LeaseDriftTicks must be in [0, ElectionTicks).", nameof(LeaseDriftTicks));
        if (MaxInflightMessages <= 0) throw new ArgumentException("MaxInflightMessages must be positive.", nameof(MaxInflightMessages));
        if (MaxBytesPerMessage <= 0) throw new ArgumentException("MaxBytesPerMessage must be positive.", nameof(MaxBytesPerMessage));
        if (MaxInflightBytes < 0) throw new ArgumentException("MaxInflightBytes must not be negative.", nameof(MaxInflightBytes));
        if (MaxReadRoundsInFlight <= 0) throw new ArgumentException("MaxReadRoundsInFlight must be positive.", nameof(MaxReadRoundsInFlight));
        if (MaxUncommittedBytes < 0) throw new ArgumentException("MaxUncommittedBytes must not be negative.", nameof(MaxUncommittedBytes));
        if (Random is null) throw new ArgumentException("A random source is required.", nameof(Random));
    }
}
