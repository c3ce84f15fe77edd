namespace RaftSql.Tests.Cluster;

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
        var lagging = cluster.Running.First(n => !n.IsLeader).Id;
        await cluster.StopNodeAsync(lagging);
        for (var i = 0; i < 120; i++)
            await leader.ExecuteAsync("app.db", "INSERT INTO t (v) VALUES (randomblob(2000))");
        await cluster.StartNodeAsync(lagging);

        await cluster.StartNodeAsync(4);
        await using var client = cluster.Client();
        await client.AddAsync(4, cluster.Infos[4].Address);

        var dumps = await cluster.DumpAllAsync("app.db");
        Assert.Equal(4, dumps.Count);
        Assert.All(dumps.Values, d => Assert.Equal(dumps.Values.First(), d));
        var count = await cluster[4].QueryAsync("app.db", "SELECT count(*) FROM t", consistency: ReadConsistency.Local);
        Assert.Equal(240L, count.Scalar);
    }
}
