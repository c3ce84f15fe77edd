namespace RaftSql.Tests.Cluster;

[Collection(ClusterTests.Collection)]
public sealed class FailoverTests
{
    [Fact]
    public async Task A_new_leader_takes_writes_after_the_leader_stops_and_nothing_acknowledged_is_lost()
    {
        await using var cluster = await LocalCluster.StartAsync(3);
        var leader = await cluster.WaitForLeaderAsync();
        await leader.ExecuteAsync("app.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
        for (var i = 0; i < 20; i++)
            await leader.ExecuteAsync("app.db", $"INSERT INTO t (v) VALUES ('{i}')");

        await cluster.StopNodeAsync(leader.Id);
        var newLeader = await cluster.WaitForLeaderAsync();
        Assert.NotEqual(leader.Id, newLeader.Id);

        var survivor = cluster.Running.First();
        await survivor.ExecuteAsync("app.db", "INSERT INTO t (v) VALUES ('after failover')");
        foreach (var node in cluster.Running)
        {
            var count = await node.QueryAsync("app.db", "SELECT count(*) FROM t", consistency: ReadConsistency.Linearizable);
            Assert.Equal(21L, count.Scalar);
        }

        // The old leader restarts from its data directory and catches up.
        var restarted = await cluster.StartNodeAsync(leader.Id);
        var target = newLeader.AppliedIndex;
        await Eventually.TrueAsync(() => restarted.AppliedIndex >= target, TimeSpan.FromSeconds(30), "the restarted node to catch up");
        var local = await restarted.QueryAsync("app.db", "SELECT count(*) FROM t", consistency: ReadConsistency.Local);
        Assert.Equal(21L, local.Scalar);
        var dumps = await cluster.DumpAllAsync("app.db");
        Assert.All(dumps.Values, d => Assert.Equal(dumps.Values.First(), d));
    }

    [Fact]
    public async Task The_minority_refuses_writes_the_majority_goes_on_and_all_converge_after_healing()
    {
        await using var cluster = await LocalCluster.StartAsync(3);
        var leader = await cluster.WaitForLeaderAsync();
        await leader.ExecuteAsync("app.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");

        // Cut the leader off: it is the minority.
        var others = cluster.Running.Where(n => n.Id != leader.Id).Select(n => n.Id).ToList();
        cluster.Faults.Partition([leader.Id], others);

        var refused = await Assert.ThrowsAsync<RaftSqlException>(() => leader.ExecuteAsync("app.db", "INSERT INTO t (v) VALUES ('minority')"));
        Assert.Contains(refused.Code, new[] { RaftSqlErrorCode.NoLeader, RaftSqlErrorCode.OutcomeUnknown });
        // A later write on the cut-off node is refused with NoLeader.
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await leader.ExecuteAsync("app.db", "INSERT INTO t (v) VALUES ('minority')");
                return false;
            }
            catch (RaftSqlException ex)
            {
                return ex.Code == RaftSqlErrorCode.NoLeader;
            }
        }, TimeSpan.FromSeconds(30), "the minority to refuse with NoLeader");
        // Local reads still work on the cut-off node.
        Assert.Equal(0L, (await leader.QueryAsync("app.db", "SELECT count(*) FROM t", consistency: ReadConsistency.Local)).Scalar);

        var majority = cluster.Running.Where(n => n.Id != leader.Id).ToList();
        await Eventually.TrueAsync(() => majority.Any(n => n.IsLeader), TimeSpan.FromSeconds(30), "a majority leader");
        for (var i = 0; i < 5; i++)
            await majority[0].ExecuteAsync("app.db", $"INSERT INTO t (v) VALUES ('majority {i}')");

        cluster.Faults.Heal();
        await cluster.WaitForLeaderAsync();
        var dumps = await cluster.DumpAllAsync("app.db");
        Assert.All(dumps.Values, d => Assert.Equal(dumps.Values.First(), d));
        var rows = await leader.QueryAsync("app.db", "SELECT v FROM t ORDER BY id", consistency: ReadConsistency.Linearizable);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"majority {i}"), rows.Rows.Select(r => (string)r[0]));
    }
}
