using System.Diagnostics;
using Microsoft.Data.Sqlite;
using RaftSql.Data.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RaftSql.Data.Tests;

/// <summary>
/// Measured, not asserted: point reads through an in-process node against plain Microsoft.Data.Sqlite on
/// the same machine, and what the provider adds to the node's own write path. Run with
/// <c>dotnet test tests/RaftSql.Data.Tests --filter Category=Benchmark --logger "console;verbosity=detailed"</c>.
/// </summary>
[Trait("Category", "Benchmark")]
public sealed class ProviderOverheadBenchmark(ITestOutputHelper output)
{
    private const int Rows = 1000;
    private const int Reads = 20_000;
    private const int Warmup = 100_000;
    private const int Writes = 300;
    private const int ManyReaders = 16;

    [Fact]
    public async Task Point_reads_and_write_overhead()
    {
        await using LocalCluster cluster = await LocalCluster.StartAsync(size: 1);
        Node node = cluster.Running.Single();
        await using RaftSqlConnection connection = node.CreateConnection("bench.db");
        await connection.OpenAsync();
        await using (var setup = connection.CreateCommand())
        {
            setup.CommandText = $"CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {Rows}) INSERT INTO kv SELECT i, 'value-' || i FROM n";
            await setup.ExecuteNonQueryAsync();
        }

        string plainPath = Path.Combine(Path.GetTempPath(), $"raftsql-bench-{Guid.NewGuid():N}.db");
        try
        {
            using var plain = new SqliteConnection($"Data Source={plainPath};Pooling=False");
            plain.Open();
            using (var setup = plain.CreateCommand())
            {
                setup.CommandText = $"PRAGMA journal_mode=WAL; CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {Rows}) INSERT INTO kv SELECT i, 'value-' || i FROM n";
                setup.ExecuteNonQuery();
            }

            using var plainRead = plain.CreateCommand();
            plainRead.CommandText = "SELECT v FROM kv WHERE k = @k";
            SqliteParameter plainKey = plainRead.Parameters.Add("@k", SqliteType.Integer);
            plainRead.Prepare();
            using var raftRead = connection.CreateCommand();
            raftRead.CommandText = "SELECT v FROM kv WHERE k = @k";
            RaftSqlParameter raftKey = raftRead.Parameters.AddWithValue("@k", 0);

            // Warm up both until the JIT has tiered them up (the provider's path is longer, so a short
            // warm-up measures the JIT, not the provider), then alternate the timed rounds so machine noise
            // hits both alike.
            TimeReads(key => { plainKey.Value = key; return plainRead.ExecuteScalar(); }, Warmup);
            TimeReads(key => { raftKey.Value = key; return raftRead.ExecuteScalar(); }, Warmup);
            double plainRate = 0, raftRate = 0;
            for (int round = 0; round < 3; round++)
            {
                plainRate = Math.Max(plainRate, TimeReads(key => { plainKey.Value = key; return plainRead.ExecuteScalar(); }, Reads));
                raftRate = Math.Max(raftRate, TimeReads(key => { raftKey.Value = key; return raftRead.ExecuteScalar(); }, Reads));
            }
            // Bytes allocated per read: with many readers on few cores every gen-0 collection stops them all,
            // so this, unlike a rate, does not depend on how loaded the machine is.
            double plainBytes = AllocatedPerRead(key => { plainKey.Value = key; return plainRead.ExecuteScalar(); });
            double raftBytes = AllocatedPerRead(key => { raftKey.Value = key; return raftRead.ExecuteScalar(); });
            double raftAsyncBytes = AllocatedPerRead(key => { raftKey.Value = key; return raftRead.ExecuteScalarAsync().GetAwaiter().GetResult(); });

            // Many readers, each with its own connection, on the machine's few cores: the figure the bench's
            // read_qps_16 reports, here without the cluster's other phases around it.
            double plainMany = 0, raftMany = 0;
            for (int round = 0; round < 2; round++)
            {
                plainMany = Math.Max(plainMany, await ManyReadersAsync(() =>
                {
                    var c = new SqliteConnection($"Data Source={plainPath};Pooling=False");
                    c.Open();
                    var command = c.CreateCommand();
                    command.CommandText = "SELECT v FROM kv WHERE k = @k";
                    SqliteParameter k = command.Parameters.Add("@k", SqliteType.Integer);
                    command.Prepare();
                    return (key => { k.Value = key; return Task.FromResult(command.ExecuteScalar()); }, c);
                }));
                raftMany = Math.Max(raftMany, await ManyReadersAsync(() =>
                {
                    RaftSqlConnection c = node.CreateConnection("bench.db");
                    c.Open();
                    RaftSqlCommand command = c.CreateCommand();
                    command.CommandText = "SELECT v FROM kv WHERE k = @k";
                    RaftSqlParameter k = command.Parameters.AddWithValue("@k", 0L);
                    return (key => { k.Value = key; return command.ExecuteScalarAsync(); }, c);
                }));
            }

            using var raftWrite = connection.CreateCommand();
            raftWrite.CommandText = "UPDATE kv SET v = @v WHERE k = 1";
            RaftSqlParameter value = raftWrite.Parameters.AddWithValue("@v", "");
            // Alternate the timed rounds too (a fresh log and WAL make the first writes slower), best of 3.
            double nodeMicros = double.MaxValue, providerMicros = double.MaxValue;
            for (int round = 0; round < 3; round++)
            {
                nodeMicros = Math.Min(nodeMicros, await TimeWritesAsync(i => node.ExecuteAsync("bench.db", "UPDATE kv SET v = @v WHERE k = 1",
                    new Dictionary<string, object?> { ["@v"] = "n" + i })));
                providerMicros = Math.Min(providerMicros, await TimeWritesAsync(async i => { value.Value = "p" + i; await raftWrite.ExecuteNonQueryAsync(); }));
            }

            output.WriteLine($"point reads: Microsoft.Data.Sqlite {plainRate:N0}/s, RaftSql.Data in-process {raftRate:N0}/s, ratio {raftRate / plainRate:0.00}");
            output.WriteLine($"point reads, {ManyReaders} readers: Microsoft.Data.Sqlite {plainMany:N0}/s, RaftSql.Data in-process {raftMany:N0}/s, ratio {raftMany / plainMany:0.00}");
            output.WriteLine($"allocated per point read: Microsoft.Data.Sqlite {plainBytes:N0} B, RaftSql.Data {raftBytes:N0} B (async {raftAsyncBytes:N0} B)");
            long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            await TimeWritesAsync(async i => { value.Value = "a" + i; await raftWrite.ExecuteNonQueryAsync(); });
            double bytesPerWrite = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / (double)(Writes + 10);
            output.WriteLine($"allocated per write (whole process, one node): {bytesPerWrite:N0} B");
            output.WriteLine($"writes: Node.ExecuteAsync {nodeMicros:N0} us, RaftSqlCommand {providerMicros:N0} us, provider overhead {providerMicros - nodeMicros:N0} us per write");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            foreach (string file in new[] { plainPath, plainPath + "-wal", plainPath + "-shm" })
                File.Delete(file);
        }
    }

    /// <summary>Reads per second; checks every answer so a wrong fast path cannot look good.</summary>
    private static double TimeReads(Func<long, object?> read, int count)
    {
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            long key = i % Rows + 1;
            if (read(key) is not string v || v != "value-" + key)
                throw new InvalidOperationException($"Wrong answer for key {key}.");
        }
        return count / watch.Elapsed.TotalSeconds;
    }

    /// <summary>Reads per second of <see cref="ManyReaders"/> loops at once, each on a thread and a connection of its own.</summary>
    private static async Task<double> ManyReadersAsync(Func<(Func<long, Task<object?>> Read, IDisposable Connection)> open)
    {
        var readers = Enumerable.Range(0, ManyReaders).Select(_ => open()).ToArray();
        try
        {
            long reads = 0;
            var clock = Stopwatch.StartNew();
            var duration = TimeSpan.FromSeconds(1);
            Task[] loops = readers.Select((reader, r) => Task.Factory.StartNew(async () =>
            {
                long mine = 0;
                while (clock.Elapsed < duration)
                {
                    long key = (mine * 7 + r) % Rows + 1;
                    if (await reader.Read(key) is not string)
                        throw new InvalidOperationException($"No row for key {key}.");
                    mine++;
                }
                Interlocked.Add(ref reads, mine);
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap()).ToArray();
            await Task.WhenAll(loops);
            return reads / clock.Elapsed.TotalSeconds;
        }
        finally
        {
            foreach (var reader in readers)
                reader.Connection.Dispose();
        }
    }

    /// <summary>Bytes this thread allocates per read (the reads complete synchronously, on this thread).</summary>
    private static double AllocatedPerRead(Func<long, object?> read)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        TimeReads(read, Reads);
        return (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Reads;
    }

    /// <summary>Mean microseconds per write (after a few warm-up writes).</summary>
    private static async Task<double> TimeWritesAsync(Func<int, Task> write)
    {
        for (int i = 0; i < 10; i++)
            await write(i);
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < Writes; i++)
            await write(i);
        return watch.Elapsed.TotalMicroseconds / Writes;
    }
}
