using Microsoft.Data.Sqlite;
using RaftSql.Sqlite.Durability;
using RaftSql.Sqlite.Native;
using RaftSql.Sqlite.Staging;
using RaftSql.Sqlite.Wal;

namespace RaftSql.Sqlite;

/// <summary>
/// The engine's state for one database: its in-memory WAL-index, the engine's own file handles,
/// the connection that keeps it open, and the speculative tail: local commits whose frames are in
/// the WAL, in log order, waiting for Raft.
/// </summary>
internal sealed class ReplicatedDatabase : IDisposable
{
    private readonly LinkedList<LocalCommit> _tail = new();
    private long _generation;
    private long _cuts;

    public ReplicatedDatabase(string name, string path)
    {
        Name = name;
        Path = path;
    }

    public string Name { get; }

    /// <summary>The database file's full path, exactly as SQLite names it to the VFS.</summary>
    public string Path { get; }

    public string WalPath => Path + "-wal";

    public WalIndex Index { get; } = new();

    /// <summary>Lock holder for the engine's apply path and tail cuts.</summary>
    public ShmClient ApplyClient { get; } = new();

    /// <summary>Lock holder for the engine's checkpoints.</summary>
    public ShmClient CheckpointClient { get; } = new();

    public int PageSize { get; set; }

    public DurableRecord Durable { get; set; }

    public ulong DurableIndex => Durable.Index;

    /// <summary>Engine-owned connection that keeps the database (and its WAL-index) open.</summary>
    public SqliteConnection? Anchor { get; set; }

    public object AnchorGate { get; } = new();

    public PlatformFile? WalFile { get; set; }

    public PlatformFile? DatabaseFile { get; set; }

    /// <summary>A big transaction from another leader whose chunks are in the WAL, unpublished, until its final entry.</summary>
    public StagedTransaction? Staging { get; set; }

    /// <summary>Bumped by every cut of the tail: commits admitted before it are refused by the log.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>Twice per cut (odd while one is under way): a read that began before or during a cut may have seen cut frames.</summary>
    public long Cuts => Interlocked.Read(ref _cuts);

    public bool HasTail
    {
        get
        {
            lock (_tail)
            {
                return _tail.Count > 0;
            }
        }
    }

    public LocalCommit NewCommit(uint startFrame, uint endFrame, uint salt) =>
        new(Name, Generation, startFrame, endFrame, salt, Index.Locks.WriteHolder);

    /// <summary>A commit whose entries reached the log but whose frames SQLite did not publish (it failed after
    /// the commit frame): the log's copy is applied like another leader's, and no local write starts on top
    /// of the state without it until then.</summary>
    public LocalCommit? Unpublished { get; private set; }

    /// <summary>Fault injection for tests: mapping a WAL-index region for which it returns true fails, as when
    /// the process runs out of memory in the middle of SQLite's commit.</summary>
    internal Func<int, bool>? ShmMapFault { get; set; }

    /// <summary>Fault injection for tests: handing over the chunk entry with a sequence for which it returns true
    /// fails, as when reading the WAL back fails halfway through a big transaction.</summary>
    internal Func<uint, bool>? ChunkFault { get; set; }

    /// <summary>True while local writes must wait for <see cref="Unpublished"/> to be applied from the log.</summary>
    public bool WritesBlocked => Unpublished is { IsDecided: false };

    /// <summary>Called on the writer's thread as its write-lock session ends (lock still held): did SQLite
    /// publish the commit it made? If not, the commit leaves the tail and waits for the log's copy; if that copy
    /// was already applied (as our own), the database is <see cref="Broken"/>, which is returned.</summary>
    public RaftSqlException? EndWriteSession(object writer)
    {
        LocalCommit last;
        lock (_tail)
        {
            if (_tail.Last is not { } node || node.Value.Writer != writer || node.Value.Published)
            {
                return null;
            }
            last = node.Value;
            if (Index.PublishedSalt1 == last.Salt && Index.PublishedMaxFrame >= last.EndFrame)
            {
                last.Published = true;
                if (last.AppliedFinal == 0 || _tail.First != node)
                {
                    return null;
                }
                _tail.RemoveFirst();
            }
            else if (last.AppliedFinal != 0)
            {
                _tail.RemoveLast();
                // The durable record and snapshots must stay below it, so a restart replays it from the log.
                _lostFrom = Math.Min(_lostFrom, last.FirstIndex);
                Broken = new RaftSqlException(RaftSqlErrorCode.CorruptLog,
                    $"A committed transaction of {Name} did not reach its WAL; restart the node to replay it from the log.");
                last.Fail(Broken);
                return Broken;
            }
            else if (last.Generation != Generation)
            {
                return null; // a cut is under way: it takes this commit with the rest of the tail
            }
            else
            {
                _tail.RemoveLast();
                Unpublished = last;
                return null;
            }
        }
        last.Complete(last.AppliedFinal);
        return null;
    }

    /// <summary>The log's copy of <see cref="Unpublished"/> was applied at <paramref name="index"/>.</summary>
    public void AppliedFromLog(ulong index)
    {
        if (Unpublished is { } commit && commit.FinalIndex == index)
        {
            Unpublished = null;
            commit.Complete(index);
        }
    }

    /// <summary>The tail was cut: a commit waiting for the log's copy has an unknown outcome too.</summary>
    public void FailUnpublished(RaftSqlException reason)
    {
        if (Unpublished is { } commit)
        {
            Unpublished = null;
            commit.Fail(reason);
        }
    }

    /// <summary>Called with the write lock held, before the commit's entries go to the log.</summary>
    public void AddToTail(LocalCommit commit)
    {
        lock (_tail)
        {
            _tail.AddLast(commit);
        }
    }

    /// <summary>Removes the newest tail entry: its commit failed before its final entry was handed to the log. When
    /// chunks of it were (<paramref name="abandonedTransaction"/> names it), they commit without a final entry: applying
    /// them here must leave no trace, so they are remembered in the same step as the commit leaves the tail.</summary>
    public void RemoveFromTail(LocalCommit commit, ulong abandonedTransaction = 0)
    {
        lock (_tail)
        {
            _tail.Remove(commit);
            if (abandonedTransaction != 0)
            {
                _abandoned.Add(abandonedTransaction);
            }
        }
    }

    // Our own big transactions abandoned after some chunks went to the log (their ids are unique to this process).
    private readonly HashSet<ulong> _abandoned = [];

    /// <summary>Leadership is lost: entries of our abandoned transactions still to come apply like any other leader's
    /// (their first chunk is staged, and a later term or their abort entry discards it).</summary>
    public void ForgetAbandoned()
    {
        lock (_tail)
        {
            _abandoned.Clear();
        }
    }

    /// <summary>True for an entry of our own abandoned big transaction: it is skipped (staging it would lay another
    /// leader's state under our tail and pin the durable index). Its abort entry, the last of them, forgets it.</summary>
    public bool SkipsAbandoned(FrameSet frames)
    {
        lock (_tail)
        {
            if (frames.TransactionId == 0 || !_abandoned.Contains(frames.TransactionId))
            {
                return false;
            }
            if (frames.IsAbort)
            {
                _abandoned.Remove(frames.TransactionId);
            }
            return true;
        }
    }

    /// <summary>Our own entry at <paramref name="index"/> was applied: true when it belongs to the tail's oldest
    /// commit. Its final entry pops the commit and releases everything gated on it, once SQLite has also
    /// published it (the loop can apply it while the writer is still finishing its commit).</summary>
    public bool TryCompleteOwn(ulong index)
    {
        LocalCommit head;
        lock (_tail)
        {
            if (_tail.First is not { } first || !first.Value.Owns(index))
            {
                return false;
            }
            head = first.Value;
            if (head.FinalIndex != index)
            {
                return true; // a chunk of our own big transaction: its frames are already in the WAL
            }
            if (!head.Published)
            {
                head.AppliedFinal = index;
                return true;
            }
            _tail.RemoveFirst();
        }
        head.Complete(index);
        return true;
    }

    /// <summary>Entries from this index on must be replayed after a restart (or sent after a snapshot): the first
    /// entry of a transaction staged from the log, or of the oldest commit in our own tail.</summary>
    private ulong _lostFrom = ulong.MaxValue;

    public ulong ReplayFrom
    {
        get
        {
            var from = Math.Min(Staging?.FirstIndex ?? ulong.MaxValue, _lostFrom);
            lock (_tail)
            {
                if (_tail.First is { } first && first.Value.FirstIndex is > 0 and var index)
                {
                    from = Math.Min(from, index);
                }
                // Its chunks may have been applied as our own (only the mark moved): they are in no file yet.
                if (Unpublished is { FirstIndex: > 0 and var lost })
                {
                    from = Math.Min(from, lost);
                }
            }
            return from;
        }
    }

    /// <summary>Set when the node's files lost a committed transaction of its own (SQLite failed after the commit
    /// frame, and the entry was already applied): the node must restart and replay it from the log.</summary>
    public RaftSqlException? Broken { get; private set; }

    /// <summary>The last frame every committed entry of this database lies in: the frame before the tail,
    /// or the published max frame when there is no tail. Consistent with <paramref name="header"/>.</summary>
    public uint CommittedFrame(out WalIndexHeader header)
    {
        while (true)
        {
            var cuts = Cuts;
            header = Index.ReadHeader() ?? default;
            lock (_tail)
            {
                // A writer joins the tail before it publishes its frames, so an empty tail now means
                // every frame in the header read before is committed.
                var mark = _tail.First is { } first ? first.Value.StartFrame - 1 : header.MaxFrame;
                if ((cuts & 1) == 0 && cuts == Cuts)
                {
                    return Math.Min(mark, header.MaxFrame);
                }
            }
        }
    }

    /// <summary>Starts a cut: later proposals of commits admitted so far are refused.</summary>
    public void BeginCut() => Interlocked.Increment(ref _generation);

    /// <summary>Takes <paramref name="from"/> and every later commit off the tail (all of it when null);
    /// returns them and the frame to cut the WAL back to. The caller holds the write lock and, when
    /// anything was taken, calls <see cref="EndCut"/> once the WAL-index is rewritten.</summary>
    public List<LocalCommit> TakeTail(LocalCommit? from, out uint mark)
    {
        lock (_tail)
        {
            var node = from is null ? _tail.First : _tail.Find(from);
            var taken = new List<LocalCommit>();
            mark = node is null ? uint.MaxValue : node.Value.StartFrame - 1;
            while (node is not null)
            {
                var next = node.Next;
                taken.Add(node.Value);
                _tail.Remove(node);
                node = next;
            }
            if (taken.Count > 0)
            {
                Interlocked.Increment(ref _cuts); // odd: a cut is under way (a seqlock for readers)
            }
            return taken;
        }
    }

    /// <summary>The cut rewrote the WAL-index: reads that began before it must not be released.</summary>
    public void EndCut() => Interlocked.Increment(ref _cuts);

    /// <summary>
    /// What a read whose snapshot was (<paramref name="cuts"/>, <paramref name="salt"/>, <paramref name="maxFrame"/>)
    /// must wait for before its rows leave the node: the newest tail commit it could see, or nothing.
    /// Null when the snapshot may hold frames that were cut (the read must be retried).
    /// </summary>
    public Task? CommitVisibleTo(long cuts, uint salt, uint maxFrame)
    {
        lock (_tail)
        {
            if ((cuts & 1) != 0 || cuts != Cuts)
            {
                return null;
            }
            LocalCommit? newest = null;
            foreach (var commit in _tail)
            {
                if (commit.Salt != salt || commit.EndFrame > maxFrame)
                {
                    break;
                }
                newest = commit;
            }
            return newest?.Committed ?? Task.CompletedTask;
        }
    }

    public void Dispose()
    {
        WalFile?.Dispose();
        DatabaseFile?.Dispose();
        WalFile = null;
        DatabaseFile = null;
        Staging = null;
    }
}
