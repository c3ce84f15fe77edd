using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace RaftSql.Sqlite.Wal;

/// <summary>
/// Appends a replicated transaction to a database's WAL as if a local writer had committed it (the
/// follower side of replication), keeping the WAL-index up to date incrementally. Frames are written
/// after the published max frame, where no reader looks, and become visible all at once when
/// <see cref="Publish"/> writes the WAL-index header. A big transaction arrives in chunks: each is
/// written as it comes (the WAL itself is the staging area), and only its final entry publishes.
/// Every call is made with the database's WAL write lock held.
/// </summary>
internal sealed unsafe class WalAppender
{
    private readonly ReplicatedDatabase _db;
    private readonly int _pageSize;
    private readonly uint _committedMax;
    private WalIndexHeader _header;
    private uint _s1, _s2;

    private WalAppender(ReplicatedDatabase db, WalIndexHeader header, int pageSize)
    {
        _db = db;
        _pageSize = pageSize;
        Restarted = header.MaxFrame > 0 && db.Index.CheckpointInfo->Backfill == header.MaxFrame && TryRestart(db, ref header);
        _committedMax = header.MaxFrame;
        (_s1, _s2) = (header.FrameChecksum1, header.FrameChecksum2);
        if (header.MaxFrame == 0)
        {
            // A new WAL generation gets new salts, so frames left from the previous one are invalid.
            header.Salt1 = WalFormat.NextSalt1(header.Salt1);
            header.Salt2 = BinaryPrimitives.ReadUInt32LittleEndian(RandomNumberGenerator.GetBytes(4));
            Span<byte> walHeader = stackalloc byte[WalFormat.HeaderSize];
            (_s1, _s2) = WalFormat.WriteHeader(walHeader, pageSize, NextCheckpointSequence(db.WalFile!), header.Salt1, header.Salt2);
            db.WalFile!.Write(walHeader, 0);
        }
        _header = header;
    }

    /// <summary>True when the WAL was restarted from its beginning first.</summary>
    public bool Restarted { get; }

    /// <summary>Frames written so far and not yet published.</summary>
    public uint Written => _header.MaxFrame - _committedMax;

    /// <summary>Starts a transaction after the published header <paramref name="header"/>.</summary>
    public static WalAppender Begin(ReplicatedDatabase db, WalIndexHeader header, int pageSize)
    {
        _ = db.WalFile ?? throw new InvalidOperationException($"Database {db.Name} is not open.");
        return new WalAppender(db, header, pageSize);
    }

    /// <summary>Writes <paramref name="pages"/> as the next frames; with <paramref name="commitSize"/> the last
    /// one is the commit frame (the database size in pages after the transaction).</summary>
    public void Write(IReadOnlyList<PageImage> pages, uint commitSize = 0)
    {
        var frameSize = WalFormat.FrameHeaderSize + _pageSize;
        var next = _header.MaxFrame + 1;
        var length = pages.Count * frameSize;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var span = buffer.AsSpan(0, length);
            for (var i = 0; i < pages.Count; i++)
            {
                WalFormat.WriteFrame(span.Slice(i * frameSize, frameSize), pages[i].PageNumber, i == pages.Count - 1 ? commitSize : 0,
                    _header.Salt1, _header.Salt2, pages[i].Data.Span, ref _s1, ref _s2);
            }
            _db.WalFile!.Write(span, WalFormat.FrameOffset(next, _pageSize));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        for (var i = 0; i < pages.Count; i++)
        {
            _db.Index.Append(next + (uint)i, pages[i].PageNumber, _committedMax);
        }
        _header.MaxFrame += (uint)pages.Count;
    }

    /// <summary>Makes every frame written visible at once: the WAL-index header, second copy first.</summary>
    public void Publish(uint databaseSizePages)
    {
        if (Written == 0)
        {
            throw new RaftSqlException(RaftSqlErrorCode.InvalidFrames, $"A transaction of {_db.Name} has no pages.");
        }
        var header = _header;
        header.FrameChecksum1 = _s1;
        header.FrameChecksum2 = _s2;
        header.DatabasePages = databaseSizePages;
        header.Change++;
        header.PageSize = _pageSize;
        header.BigEndianChecksum = 0;
        _db.Index.WriteHeader(ref header);
    }

    /// <summary>An unpublished transaction is abandoned: forget its WAL-index entries (its frames lie beyond
    /// the published max frame, so no reader ever sees them, and the next writer overwrites them). Never below
    /// what is published now: frames published since it began (there should be none) stay findable.</summary>
    public void Abandon() => _db.Index.CleanupAfter(_db.Index.ReadHeader()?.MaxFrame ?? _committedMax);

    /// <summary>walRestartLog: once every frame is checkpointed and no reader uses the WAL, start over at frame 1.
    /// Like SQLite's writer (whose read lock is slot 0 when it restarts), it holds read lock 0 shared meanwhile:
    /// a checkpoint backfills under read lock 0 exclusive, so the WAL never starts over under it.</summary>
    private static bool TryRestart(ReplicatedDatabase db, ref WalIndexHeader header)
    {
        var locks = db.Index.Locks;
        if (!locks.TryAcquire(db.ApplyClient, ShmLockTable.ReadLock(0), 1, exclusive: false))
        {
            return false;
        }
        try
        {
            if (!locks.TryAcquire(db.ApplyClient, ShmLockTable.ReadLock(1), WalCheckpointInfo.Readers - 1, exclusive: true))
            {
                return false;
            }
            try
            {
                header.MaxFrame = 0;
                db.Index.Restart(ref header);
                return true;
            }
            finally
            {
                locks.Release(db.ApplyClient, ShmLockTable.ReadLock(1), WalCheckpointInfo.Readers - 1);
            }
        }
        finally
        {
            locks.Release(db.ApplyClient, ShmLockTable.ReadLock(0), 1);
        }
    }

    /// <summary>The checkpoint sequence number for a new WAL header: one more than the current file's.</summary>
    private static uint NextCheckpointSequence(Native.PlatformFile wal)
    {
        if (wal.Length < WalFormat.HeaderSize)
        {
            return 0;
        }
        Span<byte> header = stackalloc byte[WalFormat.HeaderSize];
        wal.Read(header, 0);
        return BinaryPrimitives.ReadUInt32BigEndian(header[12..]) + 1;
    }
}
