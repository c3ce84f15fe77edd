using System.Data;
using RaftSql.Data.Tests.Infrastructure;

namespace RaftSql.Data.Tests;

[Collection(ClusterCollection.Name)]
public sealed class RaftSqlDataSourceTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Hands_out_connections_for_its_connection_string()
    {
        await using var source = new RaftSqlDataSource(fixture.Cluster.ConnectionString("conformance.db"));
        await using RaftSqlConnection connection = source.OpenConnection();
        Assert.Equal(ConnectionState.Open, connection.State);
        Assert.Equal(source.ConnectionString, connection.ConnectionString);
        await using var command = source.CreateCommand("SELECT 3");
        Assert.Equal(3L, await command.ExecuteScalarAsync());
    }

    [Fact]
    public void A_malformed_connection_string_fails_at_construction()
    {
        Assert.ThrowsAny<ArgumentException>(() => new RaftSqlDataSource("Bogus=1"));
    }
}
