using RaftSql.Hosting;
using RaftSql.Raft;
using RaftSql.Storage;

namespace RaftSql.Tests.Hosting;

public class EntryCacheTests
{
    private static Entry E(ulong index, ulong term = 1, int bytes = 100) => new(term, index, EntryType.Normal, new byte[bytes]);

    private static List<ulong> Indexes(IReadOnlyList<Entry> entries) => [.. entries.Select(e => e.Index)];

    [Fact]
    public void Serves_what_it_holds_and_refuses_ranges_it_does_not()
    {
        var cache = new EntryCache(1 << 20);
        cache.Append([E(5), E(6), E(7)]);
        Assert.True(cache.TryRead(5, 8, long.MaxValue, out var all));
        Assert.Equal([5UL, 6, 7], Indexes(all));
        Assert.True(cache.TryRead(6, 7, long.MaxValue, out var one));
        Assert.Equal([6UL], Indexes(one));
        Assert.False(cache.TryRead(4, 8, long.MaxValue, out _));
        Assert.False(cache.TryRead(5, 9, long.MaxValue, out _));
    }

    [Fact]
    public void Keeps_the_logs_size_rule_at_least_one_entry()
    {
        var cache = new EntryCache(1 << 20);
        cache.Append([E(1, bytes: 1000), E(2, bytes: 1000), E(3, bytes: 1000)]);
        var two = 2 * RecordFormat.EncodedSize(1000);
        Assert.True(cache.TryRead(1, 4, two, out var limited));
        Assert.Equal([1UL, 2], Indexes(limited));
        Assert.True(cache.TryRead(1, 4, 1, out var first));
        Assert.Equal([1UL], Indexes(first));
    }

    [Fact]
    public void An_overlapping_append_replaces_the_suffix_as_the_log_does()
    {
        var cache = new EntryCache(1 << 20);
        cache.Append([E(1), E(2), E(3), E(4)]);
        cache.Append([E(3, term: 2)]);
        Assert.False(cache.TryRead(4, 5, long.MaxValue, out _));
        Assert.True(cache.TryRead(1, 4, long.MaxValue, out var entries));
        Assert.Equal([1UL, 1, 2], entries.Select(e => e.Term).ToList());
    }

    [Fact]
    public void A_gap_or_a_clear_starts_over_and_the_budget_evicts_the_oldest()
    {
        var cache = new EntryCache(3 * RecordFormat.EncodedSize(100));
        cache.Append([E(1), E(2), E(3), E(4)]);
        Assert.False(cache.TryRead(1, 2, long.MaxValue, out _));
        Assert.True(cache.TryRead(2, 5, long.MaxValue, out var kept));
        Assert.Equal([2UL, 3, 4], Indexes(kept));
        cache.Append([E(10)]);
        Assert.False(cache.TryRead(4, 5, long.MaxValue, out _));
        Assert.True(cache.TryRead(10, 11, long.MaxValue, out _));
        cache.Clear();
        Assert.False(cache.TryRead(10, 11, long.MaxValue, out _));
    }

    [Fact]
    public void Evicted_entries_are_not_kept_alive()
    {
        var cache = new EntryCache(2 * RecordFormat.EncodedSize(1 << 20));
        var first = AddBig(cache, 1);
        for (ulong i = 2; i <= 10; i++)
            AddBig(cache, i);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(first.IsAlive, "an evicted 1 MiB entry is still reachable from the cache");
        Assert.True(cache.TryRead(9, 11, long.MaxValue, out var kept));
        Assert.Equal(2, kept.Count);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference AddBig(EntryCache cache, ulong index)
    {
        var payload = new byte[1 << 20];
        cache.Append([new Entry(1, index, EntryType.Normal, payload)]);
        return new WeakReference(payload);
    }
}
