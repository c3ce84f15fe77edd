using Spectre.Console;

namespace RaftSql.Cli.Bench;

/// <summary>Measures the three-node cluster against plain SQLite on the same disk: in this process, but for
/// the bulk phase, which runs on three `raftsql node` child processes.</summary>
internal static class BenchRunner
{
    public static async Task<BenchFigures> RunAsync(BenchSettings settings, IAnsiConsole console)
    {
        var root = Path.Combine(settings.Directory, "raftsql-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            return await console.Status().StartAsync("Starting", ctx => MeasureAsync(settings, root, ctx)).ConfigureAwait(false);
        }
        finally
        {
            DeleteQuietly(root);
        }
    }

    private static async Task<BenchFigures> MeasureAsync(BenchSettings settings, string root, StatusContext status)
    {
        var duration = settings.PhaseDuration;

        Workload.WriteRun baseline1, baseline32;
        double baselineReads, baselineReads16, baselineBulk;
        var baselinePath = Path.Combine(root, "baseline.db");
        using (var baseline = new BaselineDatabase(baselinePath))
        {
            var ids = new IdSource();
            status.Status($"SQLite baseline: warming up ({settings.WarmupWrites} writes)");
            await Workload.WarmUpAsync(settings.WarmupWrites, BenchSettings.ManyWriters, ids, baseline.InsertAsync).ConfigureAwait(false);
            status.Status("SQLite baseline: 1 writer");
            baseline1 = await Workload.WriteAsync(1, duration, ids, (_, id) => baseline.InsertAsync(id)).ConfigureAwait(false);
            status.Status($"SQLite baseline: {BenchSettings.ManyWriters} writers");
            baseline32 = await Workload.WriteAsync(BenchSettings.ManyWriters, duration, ids, (_, id) => baseline.InsertAsync(id)).ConfigureAwait(false);
            status.Status("SQLite baseline: point reads");
            baselineReads = await Workload.ReadAsync(duration, ids.Last, baseline.ReadAsync).ConfigureAwait(false);
            status.Status($"SQLite baseline: point reads, {ConcurrentReads.Readers} connections");
            baselineReads16 = await ReadPhases.BaselineAsync(baselinePath, duration, ids.Last).ConfigureAwait(false);
        }
        status.Status($"SQLite baseline: bulk insert of {settings.BulkMib} MiB in one transaction");
        baselineBulk = BulkPhase.Baseline(baselinePath, settings.BulkMib);
        DeleteBaseline(baselinePath);

        status.Status("Cluster: starting three nodes");
        await using var cluster = await BenchCluster.StartAsync(root).ConfigureAwait(false);
        var leader = await cluster.WaitForLeaderAsync().ConfigureAwait(false);
        await leader.ExecuteAsync(Workload.Database, Workload.CreateTable).ConfigureAwait(false);
        var clusterIds = new IdSource();
        status.Status($"Cluster: warming up ({settings.WarmupWrites} writes)");
        await Workload.WarmUpAsync(settings.WarmupWrites, BenchSettings.ManyWriters, clusterIds,
            id => leader.ExecuteAsync(Workload.Database, Workload.Insert, Workload.Row(id))).ConfigureAwait(false);

        status.Status("Cluster: 1 writer");
        var cluster1 = await Workload.WriteAsync(1, duration, clusterIds,
            (_, id) => leader.ExecuteAsync(Workload.Database, Workload.Insert, Workload.Row(id))).ConfigureAwait(false);
        status.Status($"Cluster: {BenchSettings.ManyWriters} writers");
        var cluster32 = await Workload.WriteAsync(BenchSettings.ManyWriters, duration, clusterIds,
            (_, id) => leader.ExecuteAsync(Workload.Database, Workload.Insert, Workload.Row(id))).ConfigureAwait(false);

        status.Status("Cluster: local point reads on a follower");
        await cluster.WaitForAllAppliedAsync(leader.AppliedIndex).ConfigureAwait(false);
        var follower = cluster.Running.First(n => n.Id != leader.Id);
        var clusterReads = await Workload.ReadAsync(duration, clusterIds.Last,
            id => follower.QueryAsync(Workload.Database, Workload.PointRead, Workload.Key(id), ReadConsistency.Local)).ConfigureAwait(false);
        var reads = await ReadPhases.ClusterAsync(leader, follower, clusterIds, duration, status).ConfigureAwait(false);

        var failovers = new List<double>();
        for (var trial = 1; trial <= settings.FailoverTrials; trial++)
        {
            status.Status($"Cluster: failover trial {trial} of {settings.FailoverTrials}");
            failovers.Add(await Failover.TrialAsync(cluster, clusterIds).ConfigureAwait(false));
        }

        // Last, so the other phases run on a small database and log; on three fresh node processes, so that
        // each node's peak RSS is its own. The in-process nodes stop first (a second dispose does nothing).
        await cluster.DisposeAsync().ConfigureAwait(false);
        status.Status($"Cluster: bulk insert of {settings.BulkMib} MiB in one transaction, on three node processes");
        var bulk = await BulkPhase.ClusterAsync(Path.Combine(root, "bulk"), settings.BulkMib).ConfigureAwait(false);

        return new BenchFigures(
            cluster1.TransactionsPerSecond, baseline1.TransactionsPerSecond,
            cluster32.TransactionsPerSecond, baseline32.TransactionsPerSecond,
            Percentile.Of(cluster1.LatenciesMs, 50), Percentile.Of(cluster1.LatenciesMs, 99),
            clusterReads, baselineReads,
            Percentile.Of(failovers, 50), failovers.Count > 0 ? failovers.Max() : 0,
            ReadQps16: reads.FollowerLocal, BaselineReadQps16: baselineReads16,
            ReadQpsLease: reads.LeaderLease, ReadQpsLinearizable: reads.FollowerLinearizable,
            ReadQpsLeaderUnderWrites: reads.LeaderUnderWrites,
            BulkMibS: bulk.MibPerSecond, BaselineBulkMibS: baselineBulk, PeakRssMb: bulk.PeakRssMb)
        {
            WriteTpsDuringLeaderReads = reads.WritesDuringReads,
            BulkNote = bulk.Note,
        };
    }

    /// <summary>Frees the baseline's disk space before the cluster fills the same disk.</summary>
    private static void DeleteBaseline(string path)
    {
        foreach (var file in new[] { path, path + "-wal", path + "-shm" })
            File.Delete(file);
    }

    private static void DeleteQuietly(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // Leftovers in the temp directory are harmless.
        }
    }
}
