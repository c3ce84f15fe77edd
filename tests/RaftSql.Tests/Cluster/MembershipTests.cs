namespace RaftSql.Tests.Cluster;

[Collection(ClusterTests.Collection)]
public sealed class MembershipTests
{
    [Fact]
    public async Task A_node_started_alone_grows_to_three_by_joining_and_promotion()
    {
        await using var cluster = new LocalCluster();
        cluster.Infos[1] = new NodeInfo(1, $"127.0.0.1:{LocalCluster.FreePort()}");
        var first = await cluster.StartNodeAsync(1, [cluster.Infos[1]]);
        await cluster.WaitForLeaderAsync();
        await first.ExecuteAsync("app.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
        await first.ExecuteAsync("app.db", "INSERT INTO t (v) VALUES ('before join')");

        await using var client = new ClusterClient([first.Address]);
        foreach (var id in new ulong[] { 2, 3 })
        {
            await cluster.StartNodeAsync(id);
            await client.AddAsync(id, cluster.Infos[id].Address);
        }
        await Eventually.TrueAsync(async () =>
        {
            var members = await client.GetClusterAsync();
            return members.Count == 3 && members.All(m => m.Role == NodeRole.Voter);
        }, TimeSpan.FromSeconds(30), "both standbys to be promoted");

        await cluster[3].ExecuteAsync("app.db", "INSERT INTO t (v) VALUES ('after join')");
        var dumps = await cluster.DumpAllAsync("app.db");
        Assert.Equal(3, dumps.Count);
        Assert.All(dumps.Values, d => Assert.Equal(dumps.Values.First(), d));
    }

    [Fact]
    public async Task Roles_change_leadership_moves_and_the_leader_can_be_removed()
    {
        await using var cluster = await LocalCluster.StartAsync(5);
        var leader = await cluster.WaitForLeaderAsync();
        await leader.ExecuteAsync("app.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
        await using var client = cluster.Client();

        var target = cluster.Running.First(n => n.Id != leader.Id);
        await client.TransferLeadershipAsync(target.Id); // returns once target leads

        // Whoever leads now (target, unless a slow machine forced another election since) is removed below;
        // a third node becomes a spare first.
        var current = await client.GetLeaderAsync();
        Assert.NotNull(current);
        var spare = cluster.Running.First(n => n.Id != target.Id && n.Id != current.Id);
        await client.AssignAsync(spare.Id, NodeRole.Spare);
        // The change is applied on the leader when AssignAsync returns; the node the client asks may apply it a moment later.
        await Eventually.TrueAsync(async () => (await client.GetClusterAsync()).Single(m => m.Id == spare.Id).Role == NodeRole.Spare,
            TimeSpan.FromSeconds(30), "the cluster view to show the spare");

        // Remove the leader itself: it steps down and the others elect a new one.
        var removed = (await client.GetLeaderAsync())!.Id;
        await client.RemoveAsync(removed);
        await cluster.StopNodeAsync(removed);
        var newLeader = await cluster.WaitForLeaderAsync();
        Assert.NotEqual(removed, newLeader.Id);
        Assert.DoesNotContain(newLeader.Members, m => m.Id == removed);
        await newLeader.ExecuteAsync("app.db", "INSERT INTO t (v) VALUES ('after removal')");

        // The spare comes back as a voter and catches up; every replica is byte-identical.
        await client.AssignAsync(spare.Id, NodeRole.Voter);
        var dumps = await cluster.DumpAllAsync("app.db");
        Assert.Equal(4, dumps.Count);
        Assert.All(dumps.Values, d => Assert.Equal(dumps.Values.First(), d));
    }
}
