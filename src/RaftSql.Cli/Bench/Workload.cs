using System.Diagnostics;

namespace RaftSql.Cli.Bench;

/// <summary>The measured loops, the same for the cluster and the plain SQLite baseline.</summary>
internal static class Workload
{
    public const string Database = "bench.db";
    public const string CreateTable = "CREATE TABLE IF NOT EXISTS bench (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)";
    public const string Insert = "INSERT INTO bench (id, payload) VALUES (@id, @payload)";
    public const string PointRead = "SELECT payload FROM bench WHERE id = @id";

    /// <summary>About the size of a small application row.</summary>
    public static readonly string Payload = new('x', 100);

    /// <summary>A write phase's outcome: transactions per second and each write's latency in milliseconds.</summary>
    public sealed record WriteRun(double TransactionsPerSecond, double[] LatenciesMs);

    /// <summary>Runs <paramref name="writers"/> concurrent loops of <paramref name="write"/> (given fresh row ids) for <paramref name="duration"/>.</summary>
    public static async Task<WriteRun> WriteAsync(int writers, TimeSpan duration, IdSource ids, Func<int, long, Task> write)
    {
        var latencies = new List<double>[writers];
        var clock = Stopwatch.StartNew();
        var loops = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var mine = latencies[w] = [];
            while (clock.Elapsed < duration)
            {
                var started = clock.Elapsed;
                await write(w, ids.Next()).ConfigureAwait(false);
                mine.Add((clock.Elapsed - started).TotalMilliseconds);
            }
        }));
        await Task.WhenAll(loops).ConfigureAwait(false);
        var elapsed = clock.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).ToArray();
        return new WriteRun(all.Length / elapsed, all);
    }

    /// <summary>
    /// Makes <paramref name="count"/> writes with <paramref name="writers"/> concurrent loops, unmeasured.
    /// Every id handed out is written, so later readers find each id up to <see cref="IdSource.Last"/>.
    /// </summary>
    public static Task WarmUpAsync(int count, int writers, IdSource ids, Func<long, Task> write)
    {
        long remaining = count;
        return Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
                await write(ids.Next()).ConfigureAwait(false);
        })));
    }

    /// <summary>Runs <paramref name="read"/> (given existing row ids) in one loop for <paramref name="duration"/>; returns reads per second.</summary>
    public static async Task<double> ReadAsync(TimeSpan duration, long maxId, Func<long, Task> read)
    {
        var random = new Random(42);
        var clock = Stopwatch.StartNew();
        long reads = 0;
        while (clock.Elapsed < duration)
        {
            await read(random.NextInt64(1, maxId + 1)).ConfigureAwait(false);
            reads++;
        }
        return reads / clock.Elapsed.TotalSeconds;
    }

    public static Dictionary<string, object?> Row(long id) => new() { ["@id"] = id, ["@payload"] = Payload };

    public static Dictionary<string, object?> Key(long id) => new() { ["@id"] = id };
}

/// <summary>Hands out row ids 1, 2, 3, ... to concurrent writers.</summary>
internal sealed class IdSource
{
    private long _last;

    public long Last => Interlocked.Read(ref _last);

    public long Next() => Interlocked.Increment(ref _last);
}
