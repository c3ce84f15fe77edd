using System.Buffers.Binary;
using RaftSql.Sqlite.Native;
using RaftSql.Sqlite.Vfs;

namespace RaftSql.Sqlite.Wal;

/// <summary>
/// Watches one connection's writes to the WAL file and replicates each transaction at its commit
/// frame. It remembers only which frame holds each page (never the images), so memory does not grow
/// with the transaction. At the commit frame, with SQLite's write lock held, it writes the frame,
/// joins the database's speculative tail, reads the pages back from the WAL and hands them to the log
/// as entries of at most one chunk each, in log order; then SQLite publishes the commit and releases
/// the lock. Nothing waits for Raft here: replies and reads wait on the <see cref="LocalCommit"/>.
/// </summary>
internal sealed unsafe class WalCapture
{
    private static long s_nextTransactionId = Random.Shared.NextInt64(1, long.MaxValue / 2);

    private readonly ReplicatedDatabase _db;
    private readonly ReplicationVfs _vfs;
    private readonly Dictionary<uint, uint> _frameOfPage = [];
    private readonly List<uint> _order = [];
    private byte[]? _heldCommitHeader;
    private long _heldCommitOffset = -1;
    private uint _startFrame;
    private int _walHeaderPageSize;

    // After a commit SQLite may rewrite frame headers (checksum fix-up after a cache spill); those
    // writes pass through until the writer releases the write lock.
    private bool _committed;

    public WalCapture(ReplicatedDatabase db, ReplicationVfs vfs)
    {
        _db = db;
        _vfs = vfs;
    }

    public int Write(SqliteFile* inner, byte* data, int amount, long offset)
    {
        if (offset == 0 && amount == WalFormat.HeaderSize)
        {
            _walHeaderPageSize = (int)BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(data + 8, 4));
            return Pass(inner, data, amount, offset);
        }
        if (_committed || offset < WalFormat.HeaderSize)
        {
            return Pass(inner, data, amount, offset);
        }
        Volatile.Write(ref _db.ActiveCapture, this);
        return amount == WalFormat.FrameHeaderSize ? FrameHeader(inner, data, offset) : PageData(inner, data, amount, offset);
    }

    /// <summary>The writer's transaction is over (write lock released): start afresh.</summary>
    public void Reset()
    {
        _committed = false;
        _heldCommitHeader = null;
        _heldCommitOffset = -1;
        _frameOfPage.Clear();
        _order.Clear();
        _startFrame = 0;
    }

    private int FrameHeader(SqliteFile* inner, byte* data, long offset)
    {
        var header = new ReadOnlySpan<byte>(data, WalFormat.FrameHeaderSize);
        var pageSize = PageSize();
        var frame = (uint)((offset - WalFormat.HeaderSize) / (WalFormat.FrameHeaderSize + pageSize)) + 1;
        var committedMax = _db.Index.PublishedMaxFrame;
        if (frame == committedMax + 1 || _startFrame == 0)
        {
            // The first frame after the last published one: a new transaction (any earlier capture was rolled back).
            Reset();
            _startFrame = committedMax + 1;
        }
        var page = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (_frameOfPage.TryAdd(page, frame))
        {
            _order.Add(page);
        }
        else
        {
            _frameOfPage[page] = frame;
        }
        if (BinaryPrimitives.ReadUInt32BigEndian(header[4..]) != 0)
        {
            _heldCommitHeader = header.ToArray();
            _heldCommitOffset = offset;
            return SqliteApi.Ok;
        }
        return Pass(inner, data, WalFormat.FrameHeaderSize, offset);
    }

    private int PageData(SqliteFile* inner, byte* data, int amount, long offset)
    {
        var frameOffset = offset - WalFormat.FrameHeaderSize;
        if (frameOffset != _heldCommitOffset || _heldCommitHeader == null)
        {
            return Pass(inner, data, amount, offset);
        }
        return Commit(inner, data, amount, frameOffset);
    }

    private int Commit(SqliteFile* inner, byte* page, int pageSize, long frameOffset)
    {
        CommitFailures.Clear();
        var committer = _vfs.Committer;
        LocalCommit? commit = null;
        try
        {
            if (committer == null)
            {
                throw new RaftSqlException(RaftSqlErrorCode.NotLeader, "This node does not accept local writes.");
            }
            committer.Admit(_db.Name);
            var rc = WriteCommitFrame(inner, page, pageSize, frameOffset);
            if (rc != SqliteApi.Ok)
            {
                Reset();
                return rc;
            }
            var endFrame = (uint)((frameOffset - WalFormat.HeaderSize) / (WalFormat.FrameHeaderSize + pageSize)) + 1;
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
                _db.RemoveFromTail(commit);
                commit.Fail(error);
            }
            CommitFailures.Record(error);
            _vfs.Log.CommitRefused(_db.Name, error.Code);
            Reset();
            return SqliteApi.IoErrWrite;
        }
    }

    /// <summary>The commit frame reaches the file (header and page in one write) before anything is proposed,
    /// so every page can be read back from the file; readers cannot see it until SQLite publishes.</summary>
    private int WriteCommitFrame(SqliteFile* inner, byte* page, int pageSize, long frameOffset)
    {
        var frame = new byte[WalFormat.FrameHeaderSize + pageSize];
        _heldCommitHeader!.CopyTo(frame, 0);
        new ReadOnlySpan<byte>(page, pageSize).CopyTo(frame.AsSpan(WalFormat.FrameHeaderSize));
        fixed (byte* f = frame)
        {
            return inner->Methods->Write(inner, f, frame.Length, frameOffset);
        }
    }

    /// <summary>Reads the transaction's pages back from the WAL and proposes them in chunks of at most one entry.</summary>
    private void Propose(SqliteFile* inner, IFrameCommitter committer, LocalCommit commit, int pageSize, uint dbSize)
    {
        var perEntry = Math.Max(1, (_vfs.MaxEntryBytes - FrameSet.Overhead(_db.Name)) / FrameSet.BytesPerPage(pageSize));
        var chunked = _order.Count > perEntry;
        var transactionId = chunked ? (ulong)Interlocked.Increment(ref s_nextTransactionId) : 0;
        uint sequence = 0;
        for (var first = 0; first < _order.Count; first += perEntry)
        {
            var count = Math.Min(perEntry, _order.Count - first);
            var final = first + count == _order.Count;
            var pages = new PageImage[count];
            for (var i = 0; i < count; i++)
            {
                var number = _order[first + i];
                var image = new byte[pageSize];
                var offset = WalFormat.FrameOffset(_frameOfPage[number], pageSize) + WalFormat.FrameHeaderSize;
                fixed (byte* p = image)
                {
                    var rc = inner->Methods->Read(inner, p, pageSize, offset);
                    if (rc != SqliteApi.Ok)
                    {
                        throw new IOException($"Reading page {number} back from the WAL of {_db.Name} failed (SQLite error {rc}).");
                    }
                }
                pages[i] = new PageImage(number, image);
            }
            var entry = new FrameSet(_db.Name, pageSize, final ? dbSize : 0, pages, transactionId, sequence++, final).Encode();
            committer.Propose(commit, entry, final);
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
        uint salt;
        var rc = inner->Methods->Read(inner, &salt, sizeof(uint), 16);
        return rc == SqliteApi.Ok ? salt : throw new IOException($"Reading the WAL header of {_db.Name} failed (SQLite error {rc}).");
    }

    private int PageSize()
    {
        var published = _db.Index.PublishedPageSize;
        return published > 0 ? published : _walHeaderPageSize;
    }

    private static int Pass(SqliteFile* inner, byte* data, int amount, long offset)
        => inner->Methods->Write(inner, data, amount, offset);
}
