using RaftSql.Sqlite.Wal;

namespace RaftSql.Tests.Sqlite;

/// <summary>The WAL-index lock slots keep the unix VFS's rules.</summary>
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
        Assert.False(_locks.TryAcquire(_b, ShmLockTable.ReadLock(0), 1, exclusive: false));
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

    [Fact]
    public void A_refused_request_keeps_the_holds_the_client_had_before_it()
    {
        Assert.True(_locks.TryAcquire(_a, ShmLockTable.ReadLock(0), 1, exclusive: false));
        Assert.True(_locks.TryAcquire(_a, ShmLockTable.ReadLock(1), 1, exclusive: true));
        Assert.True(_locks.TryAcquire(_b, ShmLockTable.ReadLock(3), 1, exclusive: false));

        // Slots 0..3 exclusive: 0 is upgraded, 1 is held already, 2 is taken, 3 is refused.
        Assert.False(_locks.TryAcquire(_a, ShmLockTable.ReadLock(0), 4, exclusive: true));
        Assert.Equal(1 << ShmLockTable.ReadLock(0), _a.SharedMask);
        Assert.Equal(1 << ShmLockTable.ReadLock(1), _a.ExclusiveMask);
        var other = new ShmClient();
        Assert.False(_locks.TryAcquire(other, ShmLockTable.ReadLock(0), 1, exclusive: true)); // a still reads there
        Assert.True(_locks.TryAcquire(other, ShmLockTable.ReadLock(0), 1, exclusive: false));
        Assert.False(_locks.TryAcquire(other, ShmLockTable.ReadLock(1), 1, exclusive: false)); // a still holds it exclusive
        Assert.True(_locks.TryAcquire(other, ShmLockTable.ReadLock(2), 1, exclusive: true)); // given back

        // A refused shared request leaves a shared hold it met on the way and gives back the one it took.
        Assert.True(_locks.TryAcquire(other, ShmLockTable.ReadLock(4), 1, exclusive: true));
        Assert.Equal(1 << ShmLockTable.ReadLock(3), _b.SharedMask);
        Assert.False(_locks.TryAcquire(_b, ShmLockTable.WriteLock, 8, exclusive: false)); // refused at a's exclusive slot
        Assert.False(_locks.TryAcquire(_b, ShmLockTable.ReadLock(3), 2, exclusive: false)); // its own slot, then other's exclusive one
        Assert.Equal(1 << ShmLockTable.ReadLock(3), _b.SharedMask);
        Assert.True(_locks.TryAcquire(new ShmClient(), ShmLockTable.WriteLock, 1, exclusive: true)); // b gave the write lock back
    }
}
