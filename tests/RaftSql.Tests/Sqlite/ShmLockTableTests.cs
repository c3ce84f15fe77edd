using RaftSql.Sqlite.Wal;

namespace RaftSql.Tests.Sqlite;

/// <summary>The WAL-index lock slots keep the unix VFS's rules now that readers take them without a lock.</summary>
public class ShmLockTableTests
{
    private readonly ShmLockTable _locks = new();
    private readonly ShmClient _a = new();
    private readonly ShmClient _b = new();

    [Fact]
    public void Shared_holders_share_and_keep_out_an_exclusive_one()
    {
        Assert.True(_locks.TryAcquire(_a, ShmLockTable.ReadLock(1), 1, exclusive: false));
        Assert.True(_locks.TryAcquire(_b, ShmLockTable.ReadLock(1), 1, exclusive: false));
        Assert.False(_locks.TryAcquire(new ShmClient(), ShmLockTable.ReadLock(1), 1, exclusive: true));
        _locks.Release(_a, ShmLockTable.ReadLock(1), 1);
        Assert.False(_locks.TryAcquire(_a, ShmLockTable.ReadLock(1), 1, exclusive: true)); // b still reads
        _locks.Release(_b, ShmLockTable.ReadLock(1), 1);
        Assert.True(_locks.TryAcquire(_a, ShmLockTable.ReadLock(1), 1, exclusive: true));
        Assert.False(_locks.TryAcquire(_b, ShmLockTable.ReadLock(1), 1, exclusive: false));
        Assert.Equal(1 << ShmLockTable.ReadLock(1), _a.ExclusiveMask);
    }

    [Fact]
    public void A_lone_shared_holder_upgrades_and_a_release_frees_the_slot_for_others()
    {
        Assert.True(_locks.TryAcquire(_a, ShmLockTable.ReadLock(0), 1, exclusive: false));
        Assert.True(_locks.TryAcquire(_a, ShmLockTable.ReadLock(0), 1, exclusive: true));
        Assert.Equal(0, _a.SharedMask);
        _locks.Release(_a, ShmLockTable.ReadLock(0), 1);
        Assert.True(_locks.TryAcquire(_b, ShmLockTable.ReadLock(0), 1, exclusive: true));
    }

    [Fact]
    public void Several_slots_are_taken_all_or_nothing()
    {
        Assert.True(_locks.TryAcquire(_b, ShmLockTable.ReadLock(3), 1, exclusive: false));
        Assert.False(_locks.TryAcquire(_a, ShmLockTable.ReadLock(1), 4, exclusive: true));
        Assert.Equal(0, _a.ExclusiveMask);
        // The slots the failed request took for a moment are free again.
        Assert.True(_locks.TryAcquire(new ShmClient(), ShmLockTable.ReadLock(1), 2, exclusive: true));
    }

    [Fact]
    public void Write_sessions_count_each_new_holder_of_the_write_lock()
    {
        var before = _locks.WriteSessions;
        Assert.True(_locks.TryAcquire(_a, ShmLockTable.WriteLock, 1, exclusive: true));
        Assert.True(_locks.TryAcquire(_a, ShmLockTable.WriteLock, 1, exclusive: true)); // held already: same session
        Assert.Same(_a, _locks.WriteHolder);
        _locks.Release(_a, ShmLockTable.WriteLock, 1);
        Assert.Null(_locks.WriteHolder);
        Assert.True(_locks.TryAcquire(_b, ShmLockTable.WriteLock, 1, exclusive: true));
        Assert.Equal(before + 2, _locks.WriteSessions);
    }

    [Fact]
    public async Task A_waiting_engine_thread_gets_the_lock_when_it_is_released()
    {
        Assert.True(_locks.TryAcquire(_a, ShmLockTable.ReadLock(2), 1, exclusive: false));
        var waiter = Task.Factory.StartNew(() => _locks.Wait(_b, ShmLockTable.ReadLock(2), 1, exclusive: true, TimeSpan.FromMinutes(1)),
            TaskCreationOptions.LongRunning);
        _locks.Release(_a, ShmLockTable.ReadLock(2), 1);
        Assert.True(await waiter.WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.Equal(1 << ShmLockTable.ReadLock(2), _b.ExclusiveMask);
    }

    [Fact]
    public void Many_threads_taking_and_dropping_read_slots_leave_every_count_at_zero()
    {
        var clients = Enumerable.Range(0, 8).Select(_ => new ShmClient()).ToArray();
        Parallel.For(0, clients.Length, c =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                var slot = ShmLockTable.ReadLock(i % 5);
                if (_locks.TryAcquire(clients[c], slot, 1, exclusive: i % 7 == 0))
                    _locks.Release(clients[c], slot, 1);
            }
        });
        Assert.All(clients, c => Assert.Equal(0, c.SharedMask | c.ExclusiveMask));
        Assert.True(_locks.TryAcquire(_a, ShmLockTable.ReadLock(0), 5, exclusive: true));
    }
}
