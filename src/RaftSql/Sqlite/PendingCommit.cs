namespace RaftSql.Sqlite;

/// <summary>
/// A local transaction waiting in its commit frame's write for the replication outcome. Exactly one
/// of <see cref="Commit"/> and <see cref="Fail"/> wins; later calls return false (e.g. after a timeout).
/// </summary>
public sealed class PendingCommit
{
    private const int Waiting = 0, Committed = 1, Failed = 2;
    private readonly ManualResetEventSlim _resolved = new();
    private int _state;

    internal PendingCommit(FrameSet frames)
    {
        Frames = frames;
    }

    public FrameSet Frames { get; }

    /// <summary>The Raft index the transaction committed at, once committed.</summary>
    public ulong RaftIndex { get; private set; }

    internal RaftSqlException? Error { get; private set; }

    internal bool IsWaiting => Volatile.Read(ref _state) == Waiting;

    internal bool IsCommitted => Volatile.Read(ref _state) == Committed;

    /// <summary>Set once SQLite finished the transaction (released its write lock) after the outcome.</summary>
    internal ManualResetEventSlim Finished { get; } = new();

    /// <summary>Run on SQLite's thread when the transaction is over (its capture state can be dropped).</summary>
    internal Action? Finishing { get; init; }

    /// <summary>True when the commit frame reached the local WAL.</summary>
    internal bool WrittenLocally { get; set; }

    /// <summary>The entry is committed at <paramref name="raftIndex"/>: the commit frame is written and SQLite proceeds.</summary>
    public bool Commit(ulong raftIndex)
    {
        if (Interlocked.CompareExchange(ref _state, Committed, Waiting) != Waiting)
        {
            return false;
        }
        RaftIndex = raftIndex;
        _resolved.Set();
        return true;
    }

    /// <summary>The entry will not (or may not) commit: SQLite rolls the transaction back and the
    /// statement fails with <paramref name="reason"/>.</summary>
    public bool Fail(RaftSqlException reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        if (Interlocked.CompareExchange(ref _state, Failed, Waiting) != Waiting)
        {
            return false;
        }
        Error = reason;
        _resolved.Set();
        return true;
    }

    /// <summary>Blocks SQLite's thread until resolved; on timeout the commit fails as outcome unknown.</summary>
    internal void WaitForOutcome(TimeSpan timeout)
    {
        if (!_resolved.Wait(timeout))
        {
            Fail(new RaftSqlException(RaftSqlErrorCode.OutcomeUnknown,
                $"The commit was not confirmed within {timeout.TotalSeconds:0.#} s; its outcome is unknown."));
        }
    }
}
