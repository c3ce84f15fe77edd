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
