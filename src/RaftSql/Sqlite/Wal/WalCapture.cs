using System.Buffers.Binary;
using RaftSql.Sqlite.Native;
using RaftSql.Sqlite.Vfs;

namespace RaftSql.Sqlite.Wal;

/// <summary>
/// Watches one connection's writes to the WAL file and replicates each transaction at its commit
/// frame. It keeps no page images: at the commit frame, with SQLite's write lock held, it writes the
/// frame, joins the database's speculative tail, then reads the transaction back from the WAL file
/// (the last frame of each page between the transaction's first frame and its commit frame: exactly
/// what SQLite's readers will see, whatever cache spills, in-place rewrites or savepoint rollbacks
/// happened) and hands it to the log in entries of at most one chunk, in log order. Then SQLite
/// publishes the commit and releases the lock. Nothing here waits for Raft: replies and reads wait on
/// the <see cref="LocalCommit"/>.
/// </summary>
internal sealed unsafe class WalCapture
{
    private static long s_nextTransactionId = Random.Shared.NextInt64(1, long.MaxValue / 2);

    private readonly ReplicatedDatabase _db;
    private readonly ReplicationVfs _vfs;
    private long _session = -1;
    private uint _startFrame;
    private byte[]? _heldCommitHeader;
    private long _heldCommitOffset = -1;

    // The big transaction being proposed and how many of its chunks were handed to the log so far.
    private ulong _transactionId;
    private uint _handedOver;

    // After a commit SQLite may rewrite frame headers (checksum fix-up after a cache spill); those
    // writes pass through until the writer's lock session ends.
    private bool _committed;

    public WalCapture(ReplicatedDatabase db, ReplicationVfs vfs)
    {
        _db = db;
        _vfs = vfs;
    }

    public int Write(SqliteFile* inner, byte* data, int amount, long offset)
    {
        // SQLite writes the WAL only while it holds the write lock: a new lock session is a new transaction.
        var session = _db.Index.Locks.WriteSessions;
        if (session != _session)
        {
            _session = session;
            _committed = false;
            _heldCommitHeader = null;
            _heldCommitOffset = -1;
            _startFrame = 0;
        }
        if (_committed || offset < WalFormat.HeaderSize)
        {
            return Pass(inner, data, amount, offset);
        }
        if (amount == WalFormat.FrameHeaderSize)
        {
            if (_startFrame == 0)
            {
                _startFrame = _db.Index.PublishedMaxFrame + 1;
            }
            if (BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(data + 4, 4)) != 0)
            {
                // The commit frame: held back until its page arrives, then replicated and written whole.
                _heldCommitHeader = new ReadOnlySpan<byte>(data, WalFormat.FrameHeaderSize).ToArray();
                _heldCommitOffset = offset;
                return SqliteApi.Ok;
            }
        }
        else if (_heldCommitHeader != null && offset - WalFormat.FrameHeaderSize == _heldCommitOffset)
        {
            return Commit(inner, data, amount, _heldCommitOffset);
        }
        return Pass(inner, data, amount, offset);
    }

    private int Commit(SqliteFile* inner, byte* page, int pageSize, long frameOffset)
    {
        CommitFailures.Clear();
        var committer = _vfs.Committer;
        LocalCommit? commit = null;
        _transactionId = 0;
        _handedOver = 0;
        try
        {
            if (committer == null)
            {
                throw new RaftSqlException(RaftSqlErrorCode.NotLeader, "This node does not accept local writes.");
            }
            committer.Admit(_db.Name);
            if (_db.Broken is { } broken)
            {
                // Its WAL lacks a committed entry: anything computed on top of it would be laid over that entry.
                throw broken;
            }
            if (_db.WritesBlocked)
            {
                throw new RaftSqlException(RaftSqlErrorCode.Unavailable,
                    $"A previous commit on {_db.Name} failed after it was replicated; writes resume once it is applied from the log.");
            }
            var rc = WriteCommitFrame(inner, page, pageSize, frameOffset);
            if (rc != SqliteApi.Ok)
            {
                _heldCommitHeader = null;
                return rc;
            }
            var endFrame = FrameNumber(frameOffset, pageSize);
            var dbSize = BinaryPrimitives.ReadUInt32BigEndian(_heldCommitHeader.AsSpan(4));
            commit = _db.NewCommit(_startFrame, endFrame, Salt1(inner));
            _db.AddToTail(commit);
            Propose(inner, committer, commit, pageSize, dbSize);
            LocalCommitTracker.Track(commit);
            _committed = true;
            return SqliteApi.Ok;
        }
        catch (Exception e)
        {
            var error = e as RaftSqlException
                ?? new RaftSqlException(RaftSqlErrorCode.OutcomeUnknown, $"Replicating the commit failed: {e.Message}", e);
            if (commit != null)
            {
                InvalidateCommitFrame(inner, frameOffset, pageSize);
                // Chunks already handed over commit without a final entry: no node, this one included, may keep them.
                var abandoned = _handedOver > 0 ? _transactionId : 0;
                _db.RemoveFromTail(commit, abandoned);
                commit.Fail(error);
                if (abandoned != 0)
                {
                    ProposeAbort(committer!, commit, pageSize);
                }
            }
            CommitFailures.Record(error);
            _vfs.Log.CommitRefused(_db.Name, error.Code);
            _heldCommitHeader = null;
            return SqliteApi.IoErrWrite;
        }
    }

    /// <summary>The commit frame reaches the file (header and page in one write) before anything is proposed,
    /// so the whole transaction can be read back from the file; readers cannot see it until SQLite publishes.</summary>
    private int WriteCommitFrame(SqliteFile* inner, byte* page, int pageSize, long frameOffset)
    {
        var length = WalFormat.FrameHeaderSize + pageSize;
        var frame = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        try
        {
            _heldCommitHeader!.CopyTo(frame, 0);
            new ReadOnlySpan<byte>(page, pageSize).CopyTo(frame.AsSpan(WalFormat.FrameHeaderSize));
            fixed (byte* f = frame)
            {
                return inner->Methods->Write(inner, f, length, frameOffset);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>The commit frame of a commit that failed is in the file with a valid salt and checksum, after frames
    /// whose chain is valid too: WAL recovery (at a restart the durable record does not cover) would take the whole
    /// transaction for committed. Zeroing its header breaks the chain there, as if the write had never happened.</summary>
    private void InvalidateCommitFrame(SqliteFile* inner, long frameOffset, int pageSize)
    {
        var zeros = stackalloc byte[WalFormat.FrameHeaderSize];
        new Span<byte>(zeros, WalFormat.FrameHeaderSize).Clear();
        // Synced too (failure path only): otherwise a power loss could keep the valid header and lose the zeros.
        if (inner->Methods->Write(inner, zeros, WalFormat.FrameHeaderSize, frameOffset) != SqliteApi.Ok
            || inner->Methods->Sync(inner, SqliteApi.SyncNormal) != SqliteApi.Ok)
        {
            _vfs.Log.CommitFrameNotInvalidated(_db.Name, FrameNumber(frameOffset, pageSize));
        }
    }

    /// <summary>After chunks of a failed big transaction: followers discard what they staged of it at this entry,
    /// instead of holding it (and their durable index) until the next transaction or term.</summary>
    private void ProposeAbort(IFrameCommitter committer, LocalCommit commit, int pageSize)
    {
        _vfs.Log.TransactionAbandoned(_db.Name, _transactionId, _handedOver);
        try
        {
            committer.ProposeAbort(commit, FrameSet.Abort(_db.Name, pageSize, _transactionId, _handedOver).Encode());
        }
        catch (Exception e)
        {
            // Nothing may escape the commit's error path; without the abort entry, followers end their staging at
            // the database's next transaction or the next term.
            _vfs.Log.AbortNotProposed(_db.Name, _transactionId, e);
        }
    }

    /// <summary>Reads the transaction back from the WAL and proposes it in entries of at most one chunk.</summary>
    private void Propose(SqliteFile* inner, IFrameCommitter committer, LocalCommit commit, int pageSize, uint dbSize)
    {
        var (pages, lastFrame) = PagesOf(inner, commit.StartFrame, commit.EndFrame, pageSize);
        var perEntry = Math.Max(1, (_vfs.MaxEntryBytes - FrameSet.Overhead(_db.Name)) / FrameSet.BytesPerPage(pageSize));
        var transactionId = pages.Count > perEntry ? (ulong)Interlocked.Increment(ref s_nextTransactionId) : 0;
        _transactionId = transactionId;
        uint sequence = 0;
        for (var first = 0; first < pages.Count; first += perEntry)
        {
            if (commit.Generation != _db.Generation)
            {
                // The tail was cut (leadership lost) while this big transaction was being proposed.
                throw new RaftSqlException(RaftSqlErrorCode.NotLeader, "Leadership was lost while the transaction was being replicated.");
            }
            var count = Math.Min(perEntry, pages.Count - first);
            var final = first + count == pages.Count;
            if (transactionId != 0 && _db.ChunkFault?.Invoke(sequence) == true)
            {
                throw new IOException($"Injected fault: reading chunk {sequence} back from the WAL failed.");
            }
            // Each page is read from the WAL straight into its place in the entry.
            var numbers = pages.GetRange(first, count).ToArray();
            var file = (nint)inner;
            var entry = FrameSet.Encode(_db.Name, pageSize, final ? dbSize : 0, transactionId, sequence++, final, numbers,
                (i, image) => Read((SqliteFile*)file, image, WalFormat.FrameOffset(lastFrame[numbers[i]], pageSize) + WalFormat.FrameHeaderSize));
            // Counted once queued (Propose throws only when it queued nothing): a final chunk counted before a
            // failed Propose would be abandoned here while it commits everywhere else.
            committer.Propose(commit, entry, final);
            _handedOver++;
        }
    }

    /// <summary>The pages of frames [<paramref name="start"/>, <paramref name="end"/>] in order of first
    /// appearance, and the last frame holding each.</summary>
    private static (List<uint> Pages, Dictionary<uint, uint> LastFrame) PagesOf(SqliteFile* inner, uint start, uint end, int pageSize)
    {
        var order = new List<uint>();
        var lastFrame = new Dictionary<uint, uint>();
        var header = new byte[WalFormat.FrameHeaderSize];
        for (var frame = start; frame <= end; frame++)
        {
            Read(inner, header, WalFormat.FrameOffset(frame, pageSize));
            var page = BinaryPrimitives.ReadUInt32BigEndian(header);
            if (page == 0)
            {
                throw new RaftSqlException(RaftSqlErrorCode.CorruptLog, $"Frame {frame} of the transaction names page 0.");
            }
            if (lastFrame.TryAdd(page, frame))
            {
                order.Add(page);
            }
            else
            {
                lastFrame[page] = frame;
            }
        }
        return (order, lastFrame);
    }

    private static void Read(SqliteFile* inner, Span<byte> buffer, long offset)
    {
        fixed (byte* p = buffer)
        {
            var rc = inner->Methods->Read(inner, p, buffer.Length, offset);
            if (rc != SqliteApi.Ok)
            {
                throw new IOException($"Reading the WAL back at offset {offset} failed (SQLite error {rc}).");
            }
        }
    }

    /// <summary>Salt-1 of the WAL generation this transaction writes: when it starts the WAL, SQLite
    /// chose new salts that are published only with the commit, so read them from the file's header.</summary>
    private uint Salt1(SqliteFile* inner)
    {
        if (_startFrame != 1)
        {
            return _db.Index.PublishedSalt1;
        }
        var salt = new byte[4];
        Read(inner, salt, 16);
        return BitConverter.ToUInt32(salt);
    }

    private static uint FrameNumber(long offset, int pageSize) =>
        (uint)((offset - WalFormat.HeaderSize) / (WalFormat.FrameHeaderSize + pageSize)) + 1;

    private static int Pass(SqliteFile* inner, byte* data, int amount, long offset)
        => inner->Methods->Write(inner, data, amount, offset);
}
