namespace RaftSql.Raft;

/// <summary>The leader's view of one replication target.</summary>
internal sealed class Progress(ulong next, int maxInflight, long maxInflightBytes = 0)
{
    public ulong Match { get; set; }

    public ulong Next { get; set; } = next;

    public ProgressState State { get; private set; } = ProgressState.Probe;

    /// <summary>In probe state: an append is outstanding, wait for its answer (or a heartbeat answer).</summary>
    public bool ProbeSent { get; set; }

    /// <summary>In snapshot state: the index of the snapshot sent.</summary>
    public ulong PendingSnapshot { get; private set; }

    /// <summary>Heard from since the last check-quorum round.</summary>
    public bool RecentActive { get; set; }

    /// <summary>The leader tick at which this member last answered.</summary>
    public long LastHeardTick { get; set; }

    /// <summary>The highest heartbeat round this member acknowledged (ReadIndex and lease).</summary>
    public ulong AckedRound { get; set; }

    /// <summary>Standby only: the leader tick since which it has been caught up, or null.</summary>
    public long? CaughtUpSince { get; set; }

    public Inflights Inflights { get; } = new(maxInflight, maxInflightBytes);

    public bool IsPaused => State switch
    {
        ProgressState.Probe => ProbeSent,
        ProgressState.Replicate => Inflights.Full,
        _ => true,
    };

    public void BecomeProbe()
    {
        // After a snapshot, probe from the snapshot on: the follower has at least that much if it installed it.
        Next = State == ProgressState.Snapshot ? Math.Max(Match + 1, PendingSnapshot + 1) : Match + 1;
        Reset(ProgressState.Probe);
    }

    public void BecomeReplicate()
    {
        Next = Match + 1;
        Reset(ProgressState.Replicate);
    }

    public void BecomeSnapshot(ulong snapshotIndex)
    {
        Reset(ProgressState.Snapshot);
        PendingSnapshot = snapshotIndex;
    }

    public void SnapshotFailed() => PendingSnapshot = 0;

    private void Reset(ProgressState state)
    {
        State = state;
        ProbeSent = false;
        PendingSnapshot = 0;
        Inflights.Reset();
    }

    /// <summary>A successful append response for <paramref name="index"/>; returns whether Match moved.</summary>
    public bool MaybeUpdate(ulong index)
    {
        var updated = false;
        if (Match < index)
        {
            Match = index;
            updated = true;
            ProbeSent = false;
        }
        Next = Math.Max(Next, index + 1);
        return updated;
    }

    /// <summary>A rejected append for <paramref name="rejected"/>; returns false when the rejection is stale.</summary>
    public bool MaybeDecreaseTo(ulong rejected, ulong hint)
    {
        if (State == ProgressState.Replicate)
        {
            if (rejected <= Match) return false;
            Next = Match + 1;
            return true;
        }
        if (Next - 1 != rejected) return false;
        Next = Math.Max(Math.Min(rejected, hint + 1), Match + 1);
        ProbeSent = false;
        return true;
    }

    public PeerProgress ToStatus() => new(Match, Next, State);
}

/// <summary>A snapshot of one follower's replication progress, as seen by the leader.</summary>
public readonly record struct PeerProgress(ulong Match, ulong Next, ProgressState State);
