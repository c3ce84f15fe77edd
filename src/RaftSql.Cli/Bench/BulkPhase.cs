using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace RaftSql.Cli.Bench;

/// <summary>The cluster's bulk load.</summary>
/// <param name="MibPerSecond">MiB of row payload per second of the statement; 0 when it failed.</param>
/// <param name="PeakRssMb">The process's peak RSS during the phase, in MiB (see <see cref="PeakRss"/>).</param>
/// <param name="Note">How long it took, or why the figure is 0.</param>
internal sealed record BulkRun(double MibPerSecond, double PeakRssMb, string Note);

/// <summary>
/// One autocommit statement inserting at least the configured MiB of random 4000-byte blobs: on the
/// cluster's leader with <see cref="Node.ExecuteAsync"/> (replicated to three nodes), and in plain
/// SQLite (WAL, synchronous=FULL, SQLite's defaults otherwise, so its auto-checkpoint runs at commit).
/// </summary>
internal static class BulkPhase
{
    private const int RowBytes = 4000;
    private const string CreateTable = "CREATE TABLE IF NOT EXISTS bulk (id INTEGER PRIMARY KEY, v BLOB NOT NULL)";

    /// <summary>The same statement in plain SQLite; returns MiB of row payload per second.</summary>
    public static double Baseline(string path, int mib)
    {
        var rows = Rows(mib);
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        Run(connection, "PRAGMA journal_mode=WAL");
        Run(connection, "PRAGMA synchronous=FULL");
        Run(connection, CreateTable);
        var clock = Stopwatch.StartNew();
        Run(connection, Insert(rows));
        return PerSecond(rows, clock.Elapsed);
    }

    /// <summary>
    /// Runs the statement on the leader, timed until it returns (once a majority has it), then waits until
    /// all three nodes applied it, still inside the peak RSS window. A failure of the cluster (e.g.
    /// MessageTooLarge while transactions over one Raft entry are refused) gives 0 and a note.
    /// </summary>
    public static async Task<BulkRun> ClusterAsync(BenchCluster cluster, int mib)
    {
        var rows = Rows(mib);
        var leader = await cluster.WaitForLeaderAsync().ConfigureAwait(false);
        await leader.ExecuteAsync(Workload.Database, CreateTable).ConfigureAwait(false);
        await using var rss = PeakRss.Start();
        var clock = Stopwatch.StartNew();
        ExecuteResult result;
        try
        {
            result = await leader.ExecuteAsync(Workload.Database, Insert(rows)).ConfigureAwait(false);
        }
        catch (RaftSqlException ex)
        {
            var note = ex.Code == RaftSqlErrorCode.MessageTooLarge
                ? Invariant($"bulk not measured: the cluster refused the {mib} MiB transaction with MessageTooLarge after {clock.Elapsed.TotalSeconds:0.0} s (transactions over one Raft entry are not supported yet)")
                : Invariant($"bulk failed after {clock.Elapsed.TotalSeconds:0.0} s: {ex.Code}: {ex.Message}");
            return await FinishAsync(0, note).ConfigureAwait(false);
        }
        var committed = clock.Elapsed;
        var wrongCount = result.RowsAffected == rows ? "" : Invariant($" (but it reported {result.RowsAffected} rows, not {rows})");

        string applied;
        try
        {
            await cluster.WaitForAllAppliedAsync(result.RaftIndex).ConfigureAwait(false);
            applied = Invariant($"applied by all three after {clock.Elapsed.TotalSeconds:0.0} s");
        }
        catch (TimeoutException)
        {
            applied = Invariant($"not yet applied by all three after {clock.Elapsed.TotalSeconds:0.0} s");
        }
        return await FinishAsync(PerSecond(rows, committed),
            Invariant($"bulk: {mib} MiB in one transaction, committed by a majority after {committed.TotalSeconds:0.0} s{wrongCount}, {applied}")).ConfigureAwait(false);

        async Task<BulkRun> FinishAsync(double mibPerSecond, string note)
        {
            var peak = await rss.StopAsync().ConfigureAwait(false);
            return new BulkRun(mibPerSecond, peak, Invariant($"{note}; process RSS {rss.StartMib:0} MiB before, {peak:0} MiB at peak"));
        }
    }

    private static long Rows(int mib) => ((long)mib * 1024 * 1024 + RowBytes - 1) / RowBytes;

    /// <summary>A recursive CTE counts the rows (SQLite has no generate_series unless built with it).</summary>
    private static string Insert(long rows) => Invariant(
        $"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) INSERT INTO bulk (v) SELECT randomblob({RowBytes}) FROM n");

    private static double PerSecond(long rows, TimeSpan elapsed) => rows * RowBytes / (1024.0 * 1024.0) / elapsed.TotalSeconds;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static void Run(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
