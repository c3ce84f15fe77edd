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

    [Fact]
    public async Task A_repeated_write_keeps_working_across_schema_changes_and_new_parameter_sets()
    {
        // Writes reuse a prepared statement per text on the leader's write connection: it must notice a schema
        // change, take new values, and take a different set of parameters for the same text.
        await using var cluster = await LocalCluster.StartAsync(1);
        var node = await cluster.WaitForLeaderAsync();
        const string insert = "INSERT INTO t (v) VALUES (@v)";
        await node.ExecuteAsync("app.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v)");
        await node.ExecuteAsync("app.db", insert, new Dictionary<string, object?> { ["@v"] = "text" });
        await node.ExecuteAsync("app.db", insert, new Dictionary<string, object?> { ["@v"] = 42L });
        await node.ExecuteAsync("app.db", "ALTER TABLE t ADD COLUMN w DEFAULT 'x'");
        await node.ExecuteAsync("app.db", "CREATE INDEX t_v ON t (v)");
        await node.ExecuteAsync("app.db", insert, new Dictionary<string, object?> { ["@v"] = null });
        var failed = await Assert.ThrowsAsync<RaftSqlException>(() => node.ExecuteAsync("app.db", insert));
        Assert.Equal(RaftSqlErrorCode.SqlError, failed.Code); // no value for @v: refused, and the statement stays usable
        await node.ExecuteAsync("app.db", insert, new Dictionary<string, object?> { ["@v"] = 7.5 });
        var rows = await node.QueryAsync("app.db", "SELECT quote(v) || ':' || w FROM t ORDER BY id");
        Assert.Equal(["'text':x", "42:x", "NULL:x", "7.5:x"], rows.Rows.Select(r => (string)r[0]!).ToArray());
    }
}
