using System.Diagnostics;

namespace RaftSql.Cli.Bench;

/// <summary>Many point-read loops at once, each with its own reader (its own connection).</summary>
internal static class ConcurrentReads
{
    public const int Readers = 16;

    /// <summary>Linearizable readers on a follower: each ReadIndex round (a round trip to the leader and a
    /// heartbeat round there) is shared by the reads waiting for it, so many readers at once is the use it serves.</summary>
    public const int LinearizableReaders = 64;

    /// <summary>
    /// Runs one loop per reader for <paramref name="duration"/>, each reading random existing row ids
    /// (1..<paramref name="maxId"/>); returns the total reads per second.
    /// </summary>
    public static async Task<double> RunAsync(IReadOnlyList<Func<long, Task>> readers, TimeSpan duration, long maxId)
    {
        long reads = 0;
        var clock = Stopwatch.StartNew();
        // Each loop starts on a thread of its own: reads that complete synchronously would otherwise hold
        // thread-pool threads without ever yielding and starve the nodes (and any writers) that share the pool.
        var loops = readers.Select((read, r) => Task.Factory.StartNew(async () =>
        {
            var random = new Random(42 + r);
            long mine = 0;
            while (clock.Elapsed < duration)
            {
                await read(random.NextInt64(1, maxId + 1)).ConfigureAwait(false);
                mine++;
            }
            Interlocked.Add(ref reads, mine);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap());
        await Task.WhenAll(loops).ConfigureAwait(false);
        return Interlocked.Read(ref reads) / clock.Elapsed.TotalSeconds;
    }
}
