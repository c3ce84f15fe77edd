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
/// Every read transaction takes and drops a read slot, from many threads at once, so a slot is one word
/// changed by compare-and-swap rather than a lock all readers queue on. A request for several slots takes
/// them one by one and gives back what it took if one is refused: another client may see BUSY meanwhile,
/// which SQLite handles like any other BUSY.
/// </summary>
internal sealed class ShmLockTable
{
    public const int SlotCount = 8;
    public const int WriteLock = 0;
    public const int CheckpointLock = 1;
    public const int RecoverLock = 2;
    public static int ReadLock(int i) => 3 + i;

    /// <summary>Per slot: the number of shared holders, or <see cref="Exclusive"/>.</summary>
    private readonly int[] _state = new int[SlotCount];
    private readonly ShmClient?[] _exclusive = new ShmClient?[SlotCount];
    private readonly object _waitGate = new();
    private int _waiters;
    private long _writeSessions;

    private const int Exclusive = -1;

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
        if ((flags & SqliteApi.ShmUnlock) != 0)
        {
            var freed = false;
            for (var slot = offset; slot < offset + count; slot++)
            {
                freed |= ReleaseSlot(client, slot);
            }
            if (freed)
            {
                WakeWaiters();
            }
            return SqliteApi.Ok;
        }
        var exclusive = (flags & SqliteApi.ShmExclusive) != 0;
        var heldShared = client.SharedMask;
        var heldExclusive = client.ExclusiveMask;
        for (var slot = offset; slot < offset + count; slot++)
        {
            if (!TryAcquireSlot(client, slot, exclusive))
            {
                // All or nothing: give back what this request took, and only that: a slot the client held before
                // stays held as it was (an upgrade to exclusive goes back to the shared hold it came from).
                var changed = false;
                for (var taken = offset; taken < slot; taken++)
                {
                    var bit = 1 << taken;
                    if ((heldExclusive & bit) != 0 || (!exclusive && (heldShared & bit) != 0))
                    {
                        continue;
                    }
                    changed = true;
                    if ((heldShared & bit) != 0)
                    {
                        Downgrade(client, taken);
                    }
                    else
                    {
                        ReleaseSlot(client, taken);
                    }
                }
                if (changed)
                {
                    WakeWaiters();
                }
                return SqliteApi.Busy;
            }
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
        if (TryAcquire(client, offset, count, exclusive))
        {
            return true;
        }
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        lock (_waitGate)
        {
            // Counted before the next try: a release after that try sees the count and pulses (under the gate,
            // so not before this thread waits).
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
            for (var slot = 0; slot < SlotCount; slot++)
            {
                if ((held & (1 << slot)) != 0)
                {
                    Release(client, slot, 1);
                }
            }
        }
    }

    /// <summary>Takes one slot; a slot the client holds already in a sufficient mode is granted as it is.
    /// The client's masks are its own: one connection (or the engine under its own lock) uses it at a time.</summary>
    private bool TryAcquireSlot(ShmClient client, int slot, bool exclusive)
    {
        var bit = 1 << slot;
        if ((client.ExclusiveMask & bit) != 0)
        {
            return true;
        }
        var holdsShared = (client.SharedMask & bit) != 0;
        if (!exclusive)
        {
            if (holdsShared)
            {
                return true;
            }
            while (true)
            {
                var current = Volatile.Read(ref _state[slot]);
                if (current == Exclusive)
                {
                    return false;
                }
                if (Interlocked.CompareExchange(ref _state[slot], current + 1, current) == current)
                {
                    client.SharedMask |= bit;
                    return true;
                }
            }
        }
        // Exclusive: no other holder at all; the client's own shared hold (if any) becomes exclusive.
        var alone = holdsShared ? 1 : 0;
        if (Interlocked.CompareExchange(ref _state[slot], Exclusive, alone) != alone)
        {
            return false;
        }
        if (slot == WriteLock)
        {
            Interlocked.Increment(ref _writeSessions);
        }
        Volatile.Write(ref _exclusive[slot], client);
        client.SharedMask &= ~bit;
        client.ExclusiveMask |= bit;
        return true;
    }

    /// <summary>Drops the client's hold on one slot; true when that left the slot free (only then can a waiter go on).</summary>
    private bool ReleaseSlot(ShmClient client, int slot)
    {
        var bit = 1 << slot;
        if ((client.ExclusiveMask & bit) != 0)
        {
            client.ExclusiveMask &= ~bit;
            Volatile.Write(ref _exclusive[slot], null);
            Interlocked.Exchange(ref _state[slot], 0);
            return true;
        }
        if ((client.SharedMask & bit) != 0)
        {
            client.SharedMask &= ~bit;
            return Interlocked.Decrement(ref _state[slot]) == 0;
        }
        return false;
    }

    /// <summary>Turns the client's exclusive hold back into the shared one it was upgraded from. No other client can
    /// change a slot held exclusive, so the state can be set outright.</summary>
    private void Downgrade(ShmClient client, int slot)
    {
        var bit = 1 << slot;
        client.ExclusiveMask &= ~bit;
        client.SharedMask |= bit;
        Volatile.Write(ref _exclusive[slot], null);
        Interlocked.Exchange(ref _state[slot], 1);
    }

    private void WakeWaiters()
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
