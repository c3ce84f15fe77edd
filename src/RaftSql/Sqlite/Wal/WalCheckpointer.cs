using System.Buffers.Binary;
using System.Security.Cryptography;

namespace RaftSql.Sqlite.Wal;

/// <summary>
/// The engine's own checkpoint (wal.c's walCheckpoint, bounded): copies the latest image of each page
/// from committed frames into the database file and never touches the speculative tail, because a
/// page in the database file cannot be taken back. SQLite's own checkpoints are refused by the VFS.
/// Readers are respected as wal.c does: a read mark below the target lowers it, and slot 0 readers
/// (who read only the database file) keep the file still.
/// </summary>
internal static unsafe class WalCheckpointer
{
    /// <summary>Backfills up to the commit point; with <paramref name="restart"/>, also starts the WAL over
    /// when everything is backfilled and no reader uses it. False when locks were busy.</summary>
    public static bool Run(ReplicatedDatabase db, bool restart, TimeSpan wait)
    {
        var locks = db.Index.Locks;
        var client = db.CheckpointClient;
        if (!locks.Wait(client, ShmLockTable.CheckpointLock, 1, exclusive: true, wait))
        {
            return false;
        }
        try
        {
            var target = db.CommittedFrame(out var header);
            var info = db.Index.CheckpointInfo;
            var backfill = Volatile.Read(ref info->Backfill);
            var durable = db.Durable;
            if (durable.KnowsWal)
            {
                // Frames after the durable record are cut at open; the database file must not be newer than them.
                target = durable.Salt1 == header.Salt1 && durable.Salt2 == header.Salt2 ? Math.Min(target, durable.Frame) : Math.Min(target, backfill);
            }
            if (target > backfill)
            {
                for (var i = 1; i < WalCheckpointInfo.Readers; i++)
                {
                    var mark = info->ReadMark[i];
                    if (target <= mark)
                    {
                        continue;
                    }
                    if (locks.TryAcquire(client, ShmLockTable.ReadLock(i), 1, exclusive: true))
                    {
                        info->ReadMark[i] = i == 1 ? target : WalCheckpointInfo.ReadMarkNotUsed;
                        locks.Release(client, ShmLockTable.ReadLock(i), 1);
                    }
                    else
                    {
                        target = mark; // a reader still needs the database file as it was at its mark
                    }
                }
            }
            if (target > backfill && !Backfill(db, header, backfill, target))
            {
                return false;
            }
            return !restart || Restart(db, wait);
        }
        finally
        {
            locks.Release(client, ShmLockTable.CheckpointLock, 1);
        }
    }

    private static bool Backfill(ReplicatedDatabase db, WalIndexHeader header, uint backfill, uint target)
    {
        var locks = db.Index.Locks;
        var client = db.CheckpointClient;
        if (!locks.TryAcquire(client, ShmLockTable.ReadLock(0), 1, exclusive: true))
        {
            return false;
        }
        try
        {
            // The header and backfill were read before this lock: if the WAL started over since (a writer or the
            // apply path restarted it), frames 1..target now belong to a newer generation, which may be neither
            // committed nor durable, and must not reach the database file. With the lock held, no restart happens.
            // (A restart publishes max frame 0, then new salts with the first frames of the new generation.)
            if (!SameGeneration(db, header, target) || Volatile.Read(ref db.Index.CheckpointInfo->Backfill) != backfill)
            {
                return false;
            }
            var wal = db.WalFile!;
            var file = db.DatabaseFile!;
            var pageSize = db.PageSize;
            wal.Sync(); // the frames must be durable before the database file depends on them
            var latest = new Dictionary<uint, uint>();
            for (var frame = backfill + 1; frame <= target; frame++)
            {
                latest[db.Index.PageAt(frame)] = frame;
            }
            var buffer = new byte[WalFormat.FrameHeaderSize + pageSize];
            wal.Read(buffer.AsSpan(0, WalFormat.FrameHeaderSize), WalFormat.FrameOffset(target, pageSize));
            var pages = BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(4));
            if (pages == 0)
            {
                throw new RaftSqlException(RaftSqlErrorCode.CorruptLog, $"Frame {target} of {db.Name}'s WAL is not a commit frame.");
            }
            foreach (var (page, frame) in latest.OrderBy(p => p.Key))
            {
                if (page > pages)
                {
                    continue;
                }
                var image = buffer.AsSpan(WalFormat.FrameHeaderSize, pageSize);
                wal.Read(image, WalFormat.FrameOffset(frame, pageSize) + WalFormat.FrameHeaderSize);
                file.Write(image, (long)(page - 1) * pageSize);
            }
            if (target == header.MaxFrame)
            {
                file.Truncate((long)pages * pageSize);
            }
            file.Sync();
            Volatile.Write(ref db.Index.CheckpointInfo->Backfill, target);
            return true;
        }
        finally
        {
            locks.Release(client, ShmLockTable.ReadLock(0), 1);
        }
    }

    /// <summary>True when the published header still has <paramref name="header"/>'s salts and at least
    /// <paramref name="target"/> frames. A header being rewritten reads as torn for a moment: read again.</summary>
    private static bool SameGeneration(ReplicatedDatabase db, WalIndexHeader header, uint target)
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            if (db.Index.ReadHeader() is { } now)
            {
                return now.Salt1 == header.Salt1 && now.Salt2 == header.Salt2 && now.MaxFrame >= target;
            }
            Thread.Yield();
        }
        return false;
    }

    /// <summary>walRestartHdr plus TRUNCATE: once every frame is backfilled and no reader or writer uses
    /// the WAL, start a new generation (new salts) and empty the file.</summary>
    private static bool Restart(ReplicatedDatabase db, TimeSpan wait)
    {
        var locks = db.Index.Locks;
        var client = db.CheckpointClient;
        if (!locks.Wait(client, ShmLockTable.WriteLock, 1, exclusive: true, wait))
        {
            return false;
        }
        try
        {
            var header = db.Index.ReadHeader();
            if (header is not { } h || h.MaxFrame == 0)
            {
                return header is not null;
            }
            // Unpublished frames of a staged transaction lie after the max frame: restarting would lose them.
            if (db.HasTail || db.Staging is not null || db.Index.CheckpointInfo->Backfill != h.MaxFrame
                || !locks.Wait(client, ShmLockTable.ReadLock(1), WalCheckpointInfo.Readers - 1, exclusive: true, wait))
            {
                return false;
            }
            try
            {
                h.MaxFrame = 0;
                h.Salt1 = WalFormat.NextSalt1(h.Salt1);
                h.Salt2 = BinaryPrimitives.ReadUInt32LittleEndian(RandomNumberGenerator.GetBytes(4));
                h.Change++;
                db.Index.Restart(ref h);
                db.WalFile!.Truncate(0);
                return true;
            }
            finally
            {
                locks.Release(client, ShmLockTable.ReadLock(1), WalCheckpointInfo.Readers - 1);
            }
        }
        finally
        {
            locks.Release(client, ShmLockTable.WriteLock, 1);
        }
    }
}
