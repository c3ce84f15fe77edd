using RaftSql.Sqlite.Native;

namespace RaftSql.Sqlite.Wal;

/// <summary>One holder of WAL-index locks: a connection's database file, or the engine itself.</summary>
internal sealed class ShmClient
{
    public int SharedMask;
    public int ExclusiveMask;

    /// <summary>The snapshot of the last read transaction this connection began, until the engine consumes it.</summary>
    public ReadSnapshot Snapshot;
}

/// <summary>What a read transaction sees: the WAL generation (salt-1) and max frame of the header it
/// started on, and how many tail cuts had happened before. The default value means no read began.</summary>
internal readonly record struct ReadSnapshot(long Cuts, uint Salt1, uint MaxFrame)
{
    public bool Began { get; init; }
}

/// <summary>
/// The eight WAL-index lock slots (xShmLock) for one database, with the semantics of the unix VFS:
/// any number of shared holders or one exclusive holder per slot; a conflict answers SQLITE_BUSY at
/// once and never blocks (SQLite retries on its own terms). Only engine code may wait, via <see cref="Wait"/>.
/// </summary>
internal sealed class ShmLockTable
{
    public const int SlotCount = 8;
    public const int WriteLock = 0;
    public const int CheckpointLock = 1;
    public const int RecoverLock = 2;
    public static int ReadLock(int i) => 3 + i;

    private readonly object _gate = new();
    private readonly int[] _sharedCount = new int[SlotCount];
    private readonly ShmClient?[] _exclusive = new ShmClient?[SlotCount];

    private long _writeSessions;

    /// <summary>Counts acquisitions of the write lock: a writer's frames belong to the session in which it
    /// wrote them, and a new session is a new transaction.</summary>
    public long WriteSessions => Interlocked.Read(ref _writeSessions);

    /// <summary>The client holding the write lock, if any.</summary>
    public ShmClient? WriteHolder
    {
        get
        {
            lock (_gate)
            {
                return _exclusive[WriteLock];
            }
        }
    }

    public int Apply(ShmClient client, int offset, int count, int flags)
    {
        if (offset < 0 || count < 1 || offset + count > SlotCount)
        {
            return SqliteApi.Error;
        }
        var mask = ((1 << count) - 1) << offset;
        lock (_gate)
        {
            if ((flags & SqliteApi.ShmUnlock) != 0)
            {
                Release(client, mask);
            }
            else
            {
                var exclusive = (flags & SqliteApi.ShmExclusive) != 0;
                if (!CanAcquire(client, mask, exclusive))
                {
                    return SqliteApi.Busy;
                }
                Acquire(client, mask, exclusive);
                return SqliteApi.Ok;
            }
            Monitor.PulseAll(_gate);
        }
        return SqliteApi.Ok;
    }

    public bool TryAcquire(ShmClient client, int offset, int count, bool exclusive)
        => Apply(client, offset, count, SqliteApi.ShmLock | (exclusive ? SqliteApi.ShmExclusive : SqliteApi.ShmShared)) == SqliteApi.Ok;

    public void Release(ShmClient client, int offset, int count)
        => Apply(client, offset, count, SqliteApi.ShmUnlock | SqliteApi.ShmExclusive);

    /// <summary>Waits (engine threads only) until the locks are granted or the deadline passes.</summary>
    public bool Wait(ShmClient client, int offset, int count, bool exclusive, TimeSpan timeout)
    {
        var mask = ((1 << count) - 1) << offset;
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        lock (_gate)
        {
            while (!CanAcquire(client, mask, exclusive))
            {
                var left = deadline - Environment.TickCount64;
                if (left <= 0)
                {
                    return false;
                }
                Monitor.Wait(_gate, (int)Math.Min(left, 50));
            }
            Acquire(client, mask, exclusive);
            return true;
        }
    }

    /// <summary>Drops every lock <paramref name="client"/> holds (its connection went away).</summary>
    public void ReleaseAll(ShmClient client)
    {
        var held = client.SharedMask | client.ExclusiveMask;
        if (held != 0)
        {
            for (var slot = 0; slot < SlotCount; slot++)
            {
                if ((held & (1 << slot)) != 0)
                {
                    Release(client, slot, 1);
                }
            }
        }
    }

    private bool CanAcquire(ShmClient client, int mask, bool exclusive)
    {
        for (var slot = 0; slot < SlotCount; slot++)
        {
            var bit = 1 << slot;
            if ((mask & bit) == 0)
            {
                continue;
            }
            var owner = _exclusive[slot];
            if (owner != null && owner != client)
            {
                return false;
            }
            if (exclusive)
            {
                var othersShared = _sharedCount[slot] - ((client.SharedMask & bit) != 0 ? 1 : 0);
                if (othersShared > 0)
                {
                    return false;
                }
            }
        }
        return true;
    }

    private void Acquire(ShmClient client, int mask, bool exclusive)
    {
        for (var slot = 0; slot < SlotCount; slot++)
        {
            var bit = 1 << slot;
            if ((mask & bit) == 0)
            {
                continue;
            }
            if (exclusive)
            {
                if (slot == WriteLock && _exclusive[slot] != client)
                {
                    Interlocked.Increment(ref _writeSessions);
                }
                _exclusive[slot] = client;
                client.ExclusiveMask |= bit;
            }
            else if ((client.SharedMask & bit) == 0 && (client.ExclusiveMask & bit) == 0)
            {
                _sharedCount[slot]++;
                client.SharedMask |= bit;
            }
        }
    }

    private void Release(ShmClient client, int mask)
    {
        for (var slot = 0; slot < SlotCount; slot++)
        {
            var bit = 1 << slot;
            if ((mask & bit) == 0)
            {
                continue;
            }
            if ((client.SharedMask & bit) != 0)
            {
                _sharedCount[slot]--;
                client.SharedMask &= ~bit;
            }
            if ((client.ExclusiveMask & bit) != 0)
            {
                _exclusive[slot] = null;
                client.ExclusiveMask &= ~bit;
            }
        }
    }
}
