namespace RaftSql.Sqlite;

/// <summary>
/// A transaction the leader wrote through SQLite and handed to Raft: its frames are already in the
/// local WAL (the speculative tail), its entries are in the log, and its outcome is decided by Raft.
/// Replies and reads that depend on it wait on <see cref="Committed"/>. Never abandoned locally
/// while the node leads: only a commit or a cut of the tail (leadership lost) resolves it.
/// </summary>
public sealed class LocalCommit
{
    private readonly TaskCompletionSource<ulong> _outcome = AsyncCompletion.Create<ulong>();
    private readonly List<ulong> _indexes = [];

    internal LocalCommit(string database, long generation, uint startFrame, uint endFrame, uint salt, object? writer)
    {
        Writer = writer;
        Database = database;
        Generation = generation;
        StartFrame = startFrame;
        EndFrame = endFrame;
        Salt = salt;
    }

    public string Database { get; }

    /// <summary>The database's tail generation when the transaction was admitted; a cut starts a new one.</summary>
    internal long Generation { get; }

    /// <summary>First WAL frame of the transaction.</summary>
    internal uint StartFrame { get; }

    /// <summary>The commit frame.</summary>
    internal uint EndFrame { get; }

    /// <summary>Salt-1 of the WAL generation the frames are in.</summary>
    internal uint Salt { get; }

    /// <summary>The lock holder (connection) that wrote it: its write-lock session ends after SQLite published it.</summary>
    internal object? Writer { get; }

    /// <summary>Completes with the Raft index of the transaction's final entry once it is applied;
    /// fails with <see cref="RaftSqlErrorCode.OutcomeUnknown"/> or <see cref="RaftSqlErrorCode.NotLeader"/>
    /// when the tail is cut.</summary>
    public Task<ulong> Committed => AsyncCompletion.Fork(_outcome.Task);

    /// <summary>True once the outcome is known (committed, failed or cut).</summary>
    internal bool IsDecided => _outcome.Task.IsCompleted;

    /// <summary>The index of the final entry, once proposed (0 before).</summary>
    public ulong FinalIndex { get; private set; }

    /// <summary>True once any of the transaction's entries reached the log (a cut then leaves its outcome unknown).</summary>
    public bool AnyProposed
    {
        get
        {
            lock (_indexes)
            {
                return _indexes.Count > 0;
            }
        }
    }

    /// <summary>The log accepted one of this transaction's entries at <paramref name="index"/>.</summary>
    public void Proposed(ulong index, bool final)
    {
        lock (_indexes)
        {
            _indexes.Add(index);
            if (final)
            {
                FinalIndex = index;
            }
        }
    }

    /// <summary>The first index any of its entries got (0 before).</summary>
    internal ulong FirstIndex
    {
        get
        {
            lock (_indexes)
            {
                return _indexes.Count == 0 ? 0 : _indexes[0];
            }
        }
    }

    /// <summary>SQLite published its frames (the writer's lock session ended with them in the WAL-index).</summary>
    internal bool Published { get; set; }

    /// <summary>The final entry was applied while SQLite had not published yet: it completes when it does.</summary>
    internal ulong AppliedFinal { get; set; }

    internal bool Owns(ulong index)
    {
        lock (_indexes)
        {
            return _indexes.Contains(index);
        }
    }

    internal bool Complete(ulong index) => _outcome.TrySetResult(index);

    internal bool Fail(RaftSqlException reason) => _outcome.TrySetException(reason);
}
