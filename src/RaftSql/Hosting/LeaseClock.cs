namespace RaftSql.Hosting;

/// <summary>
/// Times the leader lease in monotonic real time (the node's <see cref="TimeProvider"/>: Stopwatch in production), not in ticks: a loop that stalls (a long fsync,
/// an apply blocked on a writer, a GC pause, SIGSTOP) counts no ticks, yet the other members go on and may
/// elect a new leader. The loop notes when each heartbeat round of the term went out; the lease runs from the
/// send time of the newest round a quorum acknowledged (<see cref="Raft.RaftNode.LeaseRound"/>), for
/// <see cref="Duration"/>.
/// </summary>
/// <remarks>
/// Why that is safe: a member that acknowledged the round received it after it was sent, and refuses votes
/// for ElectionTicks of its own ticks after that (the core's lease promise). The host counts at most one tick
/// per <see cref="MinTickFraction"/> of a heartbeat interval, so those ticks span at least
/// MinTickFraction * (ElectionTicks - 1) heartbeat intervals (the first may come at once). No other leader
/// can be elected before then; the lease ends one heartbeat interval earlier, for clock drift.
/// Loop thread only, except <see cref="Now"/>.
/// </remarks>
internal sealed class LeaseClock
{
    /// <summary>The shortest spacing of two counted ticks, as a fraction of the heartbeat interval.</summary>
    public const double MinTickFraction = 0.9;

    /// <summary>Rounds sent but not yet confirmed that are remembered; a quorum answers long before this many go out.</summary>
    public const int MaxRoundsKept = 1024;

    private readonly Queue<(ulong Round, long SentAt)> _sent = new();
    private ulong _term;
    private ulong _noted;
    private ulong _anchorRound;
    private long _anchor;
    private readonly TimeProvider _time;

    public LeaseClock(TimeSpan heartbeatInterval, int electionTicks, TimeProvider time)
    {
        _time = time;
        Duration = heartbeatInterval * (MinTickFraction * (electionTicks - 1) - 1);
        if (Duration < TimeSpan.Zero)
            Duration = TimeSpan.Zero;
        DurationTimestamps = (long)(Duration.TotalSeconds * time.TimestampFrequency);
    }

    /// <summary>How long a lease lasts from the send time of its round; zero: no leases (too few election ticks).</summary>
    public TimeSpan Duration { get; }

    private long DurationTimestamps { get; }

    /// <summary>Rounds remembered as sent and not yet confirmed (for tests).</summary>
    internal int RoundsKept => _sent.Count;

    public long Now => _time.GetTimestamp();

    /// <summary>Before messages go out: every round of <paramref name="term"/> up to <paramref name="round"/> not
    /// noted yet is sent no earlier than now.</summary>
    public void NoteSent(ulong term, ulong round, long now)
    {
        if (term != _term)
        {
            _term = term;
            _sent.Clear();
            _noted = 0;
            _anchorRound = 0;
        }
        if (round < _noted)
        {
            // Rounds restart from 1 when a member leads again (always in a later term; be safe anyway).
            _sent.Clear();
            _noted = 0;
            _anchorRound = 0;
        }
        for (var r = _noted + 1; r <= round; r++)
            _sent.Enqueue((r, now));
        _noted = Math.Max(_noted, round);
        // While no lease is held (a transfer under way, leases off) nothing dequeues: keep the newest rounds only.
        // A round dropped here can no longer anchor a lease, which only makes Expiry answer 0.
        while (_sent.Count > MaxRoundsKept)
            _sent.Dequeue();
    }

    /// <summary>The timestamp at which the lease of confirmed round <paramref name="leaseRound"/> of
    /// <paramref name="term"/> ends; 0 when there is none.</summary>
    public long Expiry(ulong term, ulong leaseRound)
    {
        if (leaseRound == 0 || term != _term || DurationTimestamps == 0)
            return 0;
        while (_sent.TryPeek(out var sent) && sent.Round <= leaseRound)
        {
            _sent.Dequeue();
            (_anchorRound, _anchor) = sent;
        }
        return _anchorRound == leaseRound ? _anchor + DurationTimestamps : 0;
    }
}
