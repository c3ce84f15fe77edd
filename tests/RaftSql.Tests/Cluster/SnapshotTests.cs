namespace RaftSql.Tests.Cluster;

[Collection(ClusterTests.Collection)]
public sealed class SnapshotTests
{
    [Fact]
    public async Task A_node_joining_after_compaction_catches_up_by_snapshot()
    {
        await using var cluster = await LocalCluster.StartAsync(3, compactionThreshold: 40);
        var leader = await cluster.WaitForLeaderAsync();
        await leader.ExecuteAsync("app.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
        for (var i = 0; i < 120; i++)
            await leader.ExecuteAsync("app.db", "INSERT INTO t (v) VALUES (randomblob(2000))");

        // A restarted node that missed many entries, and a brand-new node: both need a snapshot.
        var lagging = cluster.Running.First(n => !n.IsLeader);
        var laggingApplied = lagging.AppliedIndex;
        // Cut it off first, so the leader's appends are lost rather than queued for its return.
        cluster.Faults.Partition([lagging.Id], [.. cluster.Running.Where(n => n.Id != lagging.Id).Select(n => n.Id)]);
        await cluster.StopNodeAsync(lagging.Id);
        for (var i = 0; i < 120; i++)
            await leader.ExecuteAsync("app.db", "INSERT INTO t (v) VALUES (randomblob(2000))");
        // No log (whichever node leads by then) still holds what the lagging node needs.
        await Eventually.TrueAsync(() => cluster.Running.All(n => CompactedBelow(cluster.Events[n.Id]) > laggingApplied + 1),
            TimeSpan.FromSeconds(30), "every node to compact past the lagging node");
        await cluster.StartNodeAsync(lagging.Id);
        cluster.Faults.Heal();

        await cluster.StartNodeAsync(4);
        await using var client = cluster.Client();
        await client.AddAsync(4, cluster.Infos[4].Address);

        var dumps = await cluster.DumpAllAsync("app.db");
        Assert.Equal(4, dumps.Count);
        Assert.All(dumps.Values, d => Assert.Equal(dumps.Values.First(), d));
        var count = await cluster[4].QueryAsync("app.db", "SELECT count(*) FROM t", consistency: ReadConsistency.Local);
        Assert.Equal(240L, count.Scalar);
        const int snapshotInstalled = 4006;
        Assert.True(cluster.Events[4].Saw(snapshotInstalled), "node 4 should have caught up by snapshot");
        Assert.True(cluster.Events[lagging.Id].Saw(snapshotInstalled), "the lagging node should have caught up by snapshot");
    }

    private static ulong CompactedBelow(EventRecorder events) =>
        events.Messages.Where(m => m.StartsWith("4007: ", StringComparison.Ordinal))
            .Select(m => ulong.Parse(m[(m.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture))
            .DefaultIfEmpty(0UL).Max();
}
