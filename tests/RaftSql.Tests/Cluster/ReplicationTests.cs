namespace RaftSql.Tests.Cluster;

[Collection(ClusterTests.Collection)]
public sealed class ReplicationTests
{
    [Fact]
    public async Task Writes_through_any_node_replicate_to_every_node()
    {
        await using var cluster = await LocalCluster.StartAsync(3);
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Running.First(n => n.Id != leader.Id);

        await leader.ExecuteAsync("app.db", "CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL)");
        await leader.ExecuteAsync("app.db", "INSERT INTO products (name, price) VALUES (@n, @p)",
            new Dictionary<string, object?> { ["@n"] = "Laptop", ["@p"] = 999.99 });
        var viaFollower = await follower.ExecuteAsync("app.db", "INSERT INTO products (name, price) VALUES ('Mouse', 29.99)");
        Assert.True(viaFollower.RaftIndex > 0);

        // Session consistency: the follower reads its own write.
        var count = await follower.QueryAsync("app.db", "SELECT count(*) FROM products");
        Assert.Equal(2L, count.Scalar);

        var dumps = await cluster.DumpAllAsync("app.db");
        var first = dumps.Values.First();
        Assert.All(dumps.Values, d => Assert.Equal(first, d));
    }
}
