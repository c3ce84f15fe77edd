using Microsoft.Data.Sqlite;
using RaftSql.Sqlite.Native;
using RaftSql.Sqlite.Wal;

namespace RaftSql.Sqlite;

/// <summary>
/// The engine's state for one database: its in-memory WAL-index, the engine's own file handles,
/// the connection that keeps it open, and the local commit waiting for replication, if any.
/// </summary>
internal sealed class ReplicatedDatabase : IDisposable
{
    private readonly object _pendingGate = new();
    private readonly Dictionary<ulong, bool> _committedLocally = [];
    private PendingCommit? _pending;

    public ReplicatedDatabase(string name, string path)
    {
        Name = name;
        Path = path;
        Index.Locks.WriteLockReleased += OnWriteLockReleased;
    }

    public string Name { get; }

    /// <summary>The database file's full path, exactly as SQLite names it to the VFS.</summary>
    public string Path { get; }

    public string WalPath => Path + "-wal";

    public WalIndex Index { get; } = new();

    /// <summary>Lock holder for the engine's apply path.</summary>
    public ShmClient ApplyClient { get; } = new();

    /// <summary>Lock holder for snapshots.</summary>
    public ShmClient SnapshotClient { get; } = new();

    public int PageSize { get; set; }

    public ulong DurableIndex { get; set; }

    /// <summary>Engine-owned connection that keeps the database (and its WAL-index) open; used for checkpoints.</summary>
    public SqliteConnection? Anchor { get; set; }

    public object AnchorGate { get; } = new();

    public PlatformFile? WalFile { get; set; }

    public PlatformFile? DatabaseFile { get; set; }

    /// <summary>Called on SQLite's thread: registers the local commit and waits for its outcome.</summary>
    public void RunLocalCommit(PendingCommit commit, IFrameCommitter? committer, TimeSpan timeout)
    {
        lock (_pendingGate)
        {
            _pending = commit;
        }
        if (committer == null)
        {
            commit.Fail(new RaftSqlException(RaftSqlErrorCode.NotLeader, "This node does not accept local writes."));
        }
        else
        {
            try
            {
                committer.Submit(commit);
            }
            catch (Exception e)
            {
                commit.Fail(e as RaftSqlException
                    ?? new RaftSqlException(RaftSqlErrorCode.OutcomeUnknown, $"The committer failed: {e.Message}", e));
            }
        }
        commit.WaitForOutcome(timeout);
    }

    /// <summary>The pending commit, if its transaction still holds the write lock.</summary>
    public PendingCommit? Pending
    {
        get
        {
            lock (_pendingGate)
            {
                return _pending;
            }
        }
    }

    /// <summary>
    /// Finds the local commit that was committed at <paramref name="raftIndex"/>: either still finishing
    /// (<paramref name="inFlight"/>) or finished, with <paramref name="written"/> saying whether its
    /// commit frame reached the local WAL.
    /// </summary>
    public bool TryTakeCommittedLocally(ulong raftIndex, out PendingCommit? inFlight, out bool written)
    {
        lock (_pendingGate)
        {
            inFlight = null;
            if (_pending is { IsCommitted: true } p && p.RaftIndex == raftIndex)
            {
                inFlight = p;
                written = false;
                return true;
            }
            return _committedLocally.Remove(raftIndex, out written);
        }
    }

    /// <summary>Drops bookkeeping of local commits at or below an applied index.</summary>
    public void ForgetCommittedLocally(ulong appliedIndex)
    {
        lock (_pendingGate)
        {
            if (_committedLocally.Count == 0)
            {
                return;
            }
            foreach (var index in _committedLocally.Keys.Where(i => i <= appliedIndex).ToList())
            {
                _committedLocally.Remove(index);
            }
        }
    }

    public int CommittedLocallyCount
    {
        get
        {
            lock (_pendingGate)
            {
                return _committedLocally.Count;
            }
        }
    }

    /// <summary>The writer of the pending commit released the write lock: its transaction is over.</summary>
    private void OnWriteLockReleased()
    {
        PendingCommit? finished;
        lock (_pendingGate)
        {
            finished = _pending;
            if (finished == null || finished.IsWaiting)
            {
                return;
            }
            _pending = null;
            if (finished.IsCommitted)
            {
                _committedLocally[finished.RaftIndex] = finished.WrittenLocally;
            }
        }
        finished.Finishing?.Invoke();
        finished.Finished.Set();
    }

    public void Dispose()
    {
        WalFile?.Dispose();
        DatabaseFile?.Dispose();
        WalFile = null;
        DatabaseFile = null;
    }
}
