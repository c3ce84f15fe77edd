using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace RaftSql.Cli.Bench;

/// <summary>The cluster's bulk load.</summary>
/// <param name="MibPerSecond">MiB of row payload per second of the statement; 0 when it failed.</param>
/// <param name="PeakRssMb">The largest node process's peak RSS, in MiB (VmHWM; see <see cref="ProcessMemory"/>).</param>
/// <param name="Note">How long it took, or why the figure is 0.</param>
internal sealed record BulkRun(double MibPerSecond, double PeakRssMb, string Note);

/// <summary>
/// One autocommit statement inserting at least the configured MiB of random 4000-byte blobs: through a
/// <see cref="ClusterClient"/> on the leader of three `raftsql node` processes, and in plain
/// SQLite (WAL, synchronous=FULL, SQLite's defaults otherwise, so its auto-checkpoint runs at commit).
/// </summary>
internal static class BulkPhase
{
    private const int RowBytes = 4000;
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan AppliedTimeout = TimeSpan.FromMinutes(2);
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
    /// Runs the statement through a <see cref="ClusterClient"/> on the leader of three fresh `raftsql node`
    /// processes under <paramref name="directory"/>, timed until it returns (once a majority has it), then
    /// waits until all three applied it and takes each process's peak RSS since it started (VmHWM). A
    /// failure of the cluster (e.g. a Timeout past the nodes' commit timeout) gives 0 and a note.
    /// </summary>
    public static async Task<BulkRun> ClusterAsync(string directory, int mib)
    {
        var rows = Rows(mib);
        await using var cluster = await ChildCluster.StartAsync(directory, ClientTimeout).ConfigureAwait(false);
        var leader = await cluster.WaitForLeaderAsync().ConfigureAwait(false);
        await cluster.Client.ExecuteAsync(Workload.Database, CreateTable).ConfigureAwait(false);
        var before = cluster.Nodes.ToDictionary(n => n.Member.Id, n => n.Memory().RssMib);
        var clock = Stopwatch.StartNew();
        ExecuteResult result;
        try
        {
            result = await cluster.Client.ExecuteAsync(Workload.Database, Insert(rows)).ConfigureAwait(false);
        }
        catch (RaftSqlException ex)
        {
            var note = ex.Code == RaftSqlErrorCode.MessageTooLarge
                ? Invariant($"bulk not measured: the cluster refused the {mib} MiB transaction with MessageTooLarge after {clock.Elapsed.TotalSeconds:0.0} s (transactions over one Raft entry are not supported yet)")
                : Invariant($"bulk failed after {clock.Elapsed.TotalSeconds:0.0} s: {ex.Code}: {ex.Message}");
            if (ex.Code is RaftSqlErrorCode.Timeout or RaftSqlErrorCode.OutcomeUnknown)
                note += " (a `raftsql node` gives a write its --commit-timeout, 10 s by default, which a busy or slow machine can exceed)";
            return Finish(0, note);
        }
        var committed = clock.Elapsed;
        var wrongCount = result.RowsAffected == rows ? "" : Invariant($" (but it reported {result.RowsAffected} rows, not {rows})");

        string applied;
        try
        {
            await cluster.WaitForAllAsync(Workload.Database, "SELECT max(id) FROM bulk", result.LastInsertRowId, AppliedTimeout).ConfigureAwait(false);
            applied = Invariant($"applied by all three after {clock.Elapsed.TotalSeconds:0.0} s");
        }
        catch (TimeoutException)
        {
            applied = Invariant($"not yet applied by all three after {clock.Elapsed.TotalSeconds:0.0} s");
        }
        if (await LeaderNowAsync(cluster).ConfigureAwait(false) is { } now && now != leader.Id)
            applied += Invariant($", by then node {now} led");
        return Finish(PerSecond(rows, committed),
            Invariant($"bulk: {mib} MiB in one transaction, committed by a majority after {committed.TotalSeconds:0.0} s{wrongCount}, {applied}"));

        BulkRun Finish(double mibPerSecond, string note)
        {
            var peaks = cluster.Nodes.ToDictionary(n => n.Member.Id, n => n.Memory().PeakMib);
            var largest = peaks.MaxBy(p => p.Value);
            var each = cluster.Nodes.Select(n => n.HasExited
                ? n.Describe()
                : Invariant($"node {n.Member.Id}{(n.Member.Id == leader.Id ? " (leader)" : "")} {peaks[n.Member.Id]:0} MiB (RSS {before[n.Member.Id]:0} MiB before)"));
            return new BulkRun(mibPerSecond, largest.Value,
                Invariant($"{note}; peak RSS (VmHWM) of each node process: {string.Join(", ", each)}; the largest is node {largest.Key}'s"));
        }
    }

    private static async Task<ulong?> LeaderNowAsync(ChildCluster cluster)
    {
        try
        {
            return (await cluster.Client.GetLeaderAsync().ConfigureAwait(false))?.Id;
        }
        catch (RaftSqlException)
        {
            return null; // only for the note
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
