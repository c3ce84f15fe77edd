using System.Buffers.Binary;
using RaftSql.Sqlite.Native;
using RaftSql.Sqlite.Vfs;

namespace RaftSql.Sqlite.Wal;

/// <summary>
/// Watches one connection's writes to the WAL file and collects the transaction being written:
/// the last image of each page and, from the commit frame's header, the database size. SQLite
/// writes each frame as two writes (24-byte header, then the page). The commit frame's header is
/// held back; when its page arrives the whole transaction is replicated first, and only a committed
/// transaction's commit frame ever reaches the file.
/// </summary>
internal sealed unsafe class WalCapture
{
    private readonly ReplicatedDatabase _db;
    private readonly ReplicationVfs _vfs;
    private readonly Dictionary<long, uint> _pageAtFrameOffset = [];
    private readonly Dictionary<uint, byte[]> _images = [];
    private readonly List<uint> _order = [];
    private byte[]? _heldCommitHeader;
    private long _heldCommitOffset = -1;
    private int _walHeaderPageSize;

    // After a commit SQLite may rewrite earlier frame headers (checksum fix-up after a cache spill);
    // those writes pass through until the writer releases the write lock.
    private bool _committed;
    private uint _committedAtChange;

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
        if (_committed && _db.Index.PublishedChange != _committedAtChange)
        {
            // The committed transaction was published, so this write belongs to a new one.
            Reset();
        }
        if (_committed || offset < WalFormat.HeaderSize)
        {
            return Pass(inner, data, amount, offset);
        }
        return amount == WalFormat.FrameHeaderSize ? FrameHeader(inner, data, offset) : PageData(inner, data, amount, offset);
    }

    /// <summary>The writer's transaction is over (write lock released): start afresh.</summary>
    public void Reset()
    {
        _committed = false;
        _heldCommitHeader = null;
        _heldCommitOffset = -1;
        _pageAtFrameOffset.Clear();
        _images.Clear();
        _order.Clear();
    }

    private int FrameHeader(SqliteFile* inner, byte* data, long offset)
    {
        var header = new ReadOnlySpan<byte>(data, WalFormat.FrameHeaderSize);
        var pageSize = PageSize();
        if (pageSize > 0 && offset == WalFormat.FrameOffset(_db.Index.PublishedMaxFrame + 1, pageSize))
        {
            // The first frame after the last committed one: a new transaction (any earlier capture was rolled back).
            Reset();
        }
        _pageAtFrameOffset[offset] = BinaryPrimitives.ReadUInt32BigEndian(header);
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
        if (_pageAtFrameOffset.TryGetValue(frameOffset, out var pageNumber))
        {
            if (!_images.TryGetValue(pageNumber, out var image) || image.Length != amount)
            {
                if (image == null)
                {
                    _order.Add(pageNumber);
                }
                image = new byte[amount];
                _images[pageNumber] = image;
            }
            new ReadOnlySpan<byte>(data, amount).CopyTo(image);
        }
        if (frameOffset != _heldCommitOffset || _heldCommitHeader == null)
        {
            return Pass(inner, data, amount, offset);
        }
        return Commit(inner, data, amount, frameOffset);
    }

    private int Commit(SqliteFile* inner, byte* page, int pageSize, long frameOffset)
    {
        var header = _heldCommitHeader!;
        var pages = new PageImage[_order.Count];
        for (var i = 0; i < pages.Length; i++)
        {
            pages[i] = new PageImage(_order[i], _images[_order[i]]);
        }
        var frames = new FrameSet(_db.Name, pageSize, BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4)), pages);
        var commit = new PendingCommit(frames) { Finishing = Reset };
        CommitFailures.Clear();
        _db.RunLocalCommit(commit, _vfs.Committer, _vfs.CommitTimeout);
        if (!commit.IsCommitted)
        {
            CommitFailures.Record(commit.Error!);
            _vfs.Log.CommitRefused(_db.Name, commit.Error!.Code);
            Reset();
            return SqliteApi.IoErrWrite;
        }
        // The commit frame reaches the file only now, header and page in one write.
        var frame = new byte[WalFormat.FrameHeaderSize + pageSize];
        header.CopyTo(frame, 0);
        new ReadOnlySpan<byte>(page, pageSize).CopyTo(frame.AsSpan(WalFormat.FrameHeaderSize));
        int rc;
        fixed (byte* f = frame)
        {
            rc = inner->Methods->Write(inner, f, frame.Length, frameOffset);
        }
        commit.WrittenLocally = rc == SqliteApi.Ok;
        _committed = true;
        _committedAtChange = _db.Index.PublishedChange;
        return rc;
    }

    private int PageSize()
    {
        var published = _db.Index.PublishedPageSize;
        return published > 0 ? published : _walHeaderPageSize;
    }

    private static int Pass(SqliteFile* inner, byte* data, int amount, long offset)
        => inner->Methods->Write(inner, data, amount, offset);
}
