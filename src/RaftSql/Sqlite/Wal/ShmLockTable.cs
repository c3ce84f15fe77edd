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
/// Each slot is one integer changed by compare-and-swap (a shared count, or -1 while held exclusively), so
/// the read transactions of many connections never queue behind one another for a lock of the table.
/// A client's own masks are touched only by the thread that runs its connection.
/// </summary>
internal sealed class ShmLockTable
{
    public const int SlotCount = 8;
    public const int WriteLock = 0;
    public const int CheckpointLock = 1;
    public const int RecoverLock = 2;
    public static int ReadLock(int i) => 3 + i;

    private const int Exclusive = -1;

    private readonly int[] _state = new int[SlotCount];
    private readonly ShmClient?[] _exclusive = new ShmClient?[SlotCount];
    private readonly object _waitGate = new();
    private int _waiters;
    private long _writeSessions;

    /// <summary>Counts acquisitions of the write lock: a writer's frames belong to the session in which it
    /// wrote them, and a new session is a new transaction.</summary>
    public long WriteSessions => Interlocked.Read(ref _writeSessions);

    /// <summary>The client holding the write lock, if any.</summary>
    public ShmClient? WriteHolder => Volatile.Read(ref _exclusive[WriteLock]);

    public int Apply(ShmClient client, int offset, int count, int flags)
    {
        if (offset < 0 || count < 1 || offset + count > SlotCount)
        {
            return SqliteApi.Error;
        }
        var mask = ((1 << count) - 1) << offset;
        if ((flags & SqliteApi.ShmUnlock) != 0)
        {
            ReleaseMask(client, mask);
            return SqliteApi.Ok;
        }
        var acquired = (flags & SqliteApi.ShmExclusive) != 0 ? TryAcquireExclusive(client, mask) : TryAcquireShared(client, mask);
        return acquired ? SqliteApi.Ok : SqliteApi.Busy;
    }

    public bool TryAcquire(ShmClient client, int offset, int count, bool exclusive)
        => Apply(client, offset, count, SqliteApi.ShmLock | (exclusive ? SqliteApi.ShmExclusive : SqliteApi.ShmShared)) == SqliteApi.Ok;

    public void Release(ShmClient client, int offset, int count)
        => Apply(client, offset, count, SqliteApi.ShmUnlock | SqliteApi.ShmExclusive);

    /// <summary>Waits (engine threads only) until the locks are granted or the deadline passes.</summary>
    public bool Wait(ShmClient client, int offset, int count, bool exclusive, TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        lock (_waitGate)
        {
            // Announced before each try: a release after a failed try sees the waiter and pulses.
            Interlocked.Increment(ref _waiters);
            try
            {
                while (!TryAcquire(client, offset, count, exclusive))
                {
                    var left = deadline - Environment.TickCount64;
                    if (left <= 0)
                    {
                        return false;
                    }
                    Monitor.Wait(_waitGate, (int)Math.Min(left, 50));
                }
                return true;
            }
            finally
            {
                Interlocked.Decrement(ref _waiters);
            }
        }
    }

    /// <summary>Drops every lock <paramref name="client"/> holds (its connection went away).</summary>
    public void ReleaseAll(ShmClient client)
    {
        var held = client.SharedMask | client.ExclusiveMask;
        if (held != 0)
        {
            ReleaseMask(client, held);
        }
    }

    private bool TryAcquireShared(ShmClient client, int mask)
    {
        var taken = 0;
        for (var slot = 0; slot < SlotCount; slot++)
        {
            var bit = 1 << slot;
            if ((mask & bit) == 0 || ((client.SharedMask | client.ExclusiveMask) & bit) != 0)
            {
                continue;
            }
            while (true)
            {
                var state = Volatile.Read(ref _state[slot]);
                if (state == Exclusive)
                {
                    ReleaseMask(client, taken);
                    return false;
                }
                if (Interlocked.CompareExchange(ref _state[slot], state + 1, state) == state)
                {
                    break;
                }
            }
            client.SharedMask |= bit;
            taken |= bit;
        }
        return true;
    }

    private bool TryAcquireExclusive(ShmClient client, int mask)
    {
        var taken = 0;
        var upgraded = 0;
        for (var slot = 0; slot < SlotCount; slot++)
        {
            var bit = 1 << slot;
            if ((mask & bit) == 0 || (client.ExclusiveMask & bit) != 0)
            {
                continue;
            }
            // A slot this client holds shared may be upgraded when no one else shares it.
            var ownShare = (client.SharedMask & bit) != 0 ? 1 : 0;
            if (Interlocked.CompareExchange(ref _state[slot], Exclusive, ownShare) != ownShare)
            {
                // Undo this call's work: upgraded slots go back to shared, new ones to free.
                for (var s = 0; s < SlotCount; s++)
                {
                    var b = 1 << s;
                    if ((taken & b) == 0)
                    {
                        continue;
                    }
                    Volatile.Write(ref _exclusive[s], null);
                    client.ExclusiveMask &= ~b;
                    if ((upgraded & b) != 0)
                    {
                        client.SharedMask |= b;
                    }
                    Interlocked.Exchange(ref _state[s], (upgraded & b) != 0 ? 1 : 0);
                }
                PulseWaiters();
                return false;
            }
            Volatile.Write(ref _exclusive[slot], client);
            client.ExclusiveMask |= bit;
            if (ownShare == 1)
            {
                client.SharedMask &= ~bit;
                upgraded |= bit;
            }
            taken |= bit;
        }
        if ((taken & (1 << WriteLock)) != 0)
        {
            Interlocked.Increment(ref _writeSessions);
        }
        return true;
    }

    private void ReleaseMask(ShmClient client, int mask)
    {
        var released = false;
        for (var slot = 0; slot < SlotCount; slot++)
        {
            var bit = 1 << slot;
            if ((mask & bit) == 0)
            {
                continue;
            }
            if ((client.SharedMask & bit) != 0)
            {
                client.SharedMask &= ~bit;
                Interlocked.Decrement(ref _state[slot]);
                released = true;
            }
            if ((client.ExclusiveMask & bit) != 0)
            {
                client.ExclusiveMask &= ~bit;
                Volatile.Write(ref _exclusive[slot], null);
                Interlocked.Exchange(ref _state[slot], 0);
                released = true;
            }
        }
        if (released)
        {
            PulseWaiters();
        }
    }

    /// <summary>Wakes engine threads in <see cref="Wait"/>; the interlocked release before it orders the read of the count.</summary>
    private void PulseWaiters()
    {
        if (Volatile.Read(ref _waiters) > 0)
        {
            lock (_waitGate)
            {
                Monitor.PulseAll(_waitGate);
            }
        }
    }
}
