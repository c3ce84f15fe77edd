using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace RaftSql.Sqlite.Wal;

/// <summary>
/// Appends a committed frame set to a database's WAL as if a local writer had committed it (the
/// follower side of replication), keeping the WAL-index up to date incrementally. The caller holds
/// the database's WAL write lock.
/// </summary>
internal static unsafe class WalAppender
{
    /// <returns>True when the WAL was restarted from its beginning first.</returns>
    public static bool Append(ReplicatedDatabase db, WalIndexHeader header, FrameSet frames)
        => Append(db, header, frames.PageSize, frames.DatabaseSizePages, [frames.Pages]);

    /// <summary>Appends one transaction given as batches of pages (the last page of the last batch is the
    /// commit frame) and publishes it with one WAL-index header write, so readers see all of it or none.
    /// Each batch is written before the next is asked for.</summary>
    public static bool Append(ReplicatedDatabase db, WalIndexHeader header, int pageSize, uint databaseSizePages,
        IEnumerable<IReadOnlyList<PageImage>> batches)
    {
        var index = db.Index;
        var wal = db.WalFile ?? throw new InvalidOperationException($"Database {db.Name} is not open.");
        var restarted = header.MaxFrame > 0 && index.CheckpointInfo->Backfill == header.MaxFrame && TryRestart(db, ref header);
        var committedMax = header.MaxFrame;
        var frameSize = WalFormat.FrameHeaderSize + pageSize;
        var next = header.MaxFrame + 1;
        uint s1 = header.FrameChecksum1, s2 = header.FrameChecksum2;
        var startsWal = header.MaxFrame == 0;
        if (startsWal)
        {
            // A new WAL generation gets new salts, so frames left from the previous one are invalid.
            header.Salt1 = WalFormat.NextSalt1(header.Salt1);
            header.Salt2 = BinaryPrimitives.ReadUInt32LittleEndian(RandomNumberGenerator.GetBytes(4));
            Span<byte> walHeader = stackalloc byte[WalFormat.HeaderSize];
            (s1, s2) = WalFormat.WriteHeader(walHeader, pageSize, NextCheckpointSequence(wal), header.Salt1, header.Salt2);
            wal.Write(walHeader, 0);
        }

        using var pending = batches.GetEnumerator();
        var hasBatch = pending.MoveNext();
        while (hasBatch)
        {
            var pages = pending.Current;
            var last = !(hasBatch = pending.MoveNext());
            var length = pages.Count * frameSize;
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                var span = buffer.AsSpan(0, length);
                for (var i = 0; i < pages.Count; i++)
                {
                    var commitSize = last && i == pages.Count - 1 ? databaseSizePages : 0;
                    WalFormat.WriteFrame(span.Slice(i * frameSize, frameSize), pages[i].PageNumber, commitSize, header.Salt1, header.Salt2,
                        pages[i].Data.Span, ref s1, ref s2);
                }
                wal.Write(span, WalFormat.FrameOffset(next, pageSize));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            for (var i = 0; i < pages.Count; i++)
            {
                index.Append(next + (uint)i, pages[i].PageNumber, committedMax);
            }
            next += (uint)pages.Count;
        }

        header.MaxFrame = next - 1;
        header.FrameChecksum1 = s1;
        header.FrameChecksum2 = s2;
        header.DatabasePages = databaseSizePages;
        header.Change++;
        header.PageSize = pageSize;
        header.BigEndianChecksum = 0;
        index.WriteHeader(ref header);
        return restarted;
    }

    /// <summary>walRestartLog: once every frame is checkpointed and no reader uses the WAL, start over at frame 1.</summary>
    private static bool TryRestart(ReplicatedDatabase db, ref WalIndexHeader header)
    {
        var locks = db.Index.Locks;
        if (!locks.TryAcquire(db.ApplyClient, ShmLockTable.ReadLock(1), WalCheckpointInfo.Readers - 1, exclusive: true))
        {
            return false;
        }
        try
        {
            header.MaxFrame = 0;
            db.Index.WriteHeader(ref header);
            var info = db.Index.CheckpointInfo;
            Volatile.Write(ref info->Backfill, 0);
            info->BackfillAttempted = 0;
            info->ReadMark[1] = 0;
            for (var i = 2; i < WalCheckpointInfo.Readers; i++)
            {
                info->ReadMark[i] = WalCheckpointInfo.ReadMarkNotUsed;
            }
            return true;
        }
        finally
        {
            locks.Release(db.ApplyClient, ShmLockTable.ReadLock(1), WalCheckpointInfo.Readers - 1);
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
