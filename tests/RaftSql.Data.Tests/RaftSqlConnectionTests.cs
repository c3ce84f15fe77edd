using System.Data;
using RaftSql.Data.Tests.Infrastructure;

namespace RaftSql.Data.Tests;

[Collection(ClusterCollection.Name)]
public sealed class RaftSqlConnectionTests(ClusterFixture fixture)
{
    [Fact]
    public void Open_and_close_change_state_and_raise_events()
    {
        using var connection = new RaftSqlConnection(fixture.Cluster.ConnectionString("conn.db"));
        var states = new List<ConnectionState>();
        connection.StateChange += (_, e) => states.Add(e.CurrentState);

        Assert.Equal(ConnectionState.Closed, connection.State);
        connection.Open();
        Assert.Equal(ConnectionState.Open, connection.State);
        Assert.Equal("conn.db", connection.Database);
        connection.Close();
        Assert.Equal(ConnectionState.Closed, connection.State);
        Assert.Equal([ConnectionState.Open, ConnectionState.Closed], states);
    }

    [Fact]
    public void Open_twice_throws_and_connection_string_is_frozen_while_open()
    {
        using var connection = fixture.Open();
        Assert.Throws<InvalidOperationException>(() => connection.Open());
        Assert.Throws<InvalidOperationException>(() => connection.ConnectionString = "Nodes=x:1;Database=y");
    }

    [Fact]
    public void Open_without_database_or_nodes_throws()
    {
        Assert.Throws<InvalidOperationException>(() => new RaftSqlConnection("Nodes=127.0.0.1:1").Open());
        Assert.Throws<InvalidOperationException>(() => new RaftSqlConnection("Database=a.db").Open());
    }

    [Fact]
    public async Task Unreachable_nodes_are_skipped_and_none_reachable_is_Unavailable()
    {
        string dead = "127.0.0.1:1";
        await using (var connection = new RaftSqlConnection($"Nodes={dead},{fixture.Cluster.Nodes};Database=conn.db"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 42";
            Assert.Equal(42L, await command.ExecuteScalarAsync());
        }

        var ex = await Assert.ThrowsAsync<RaftSqlException>(() => new RaftSqlConnection($"Nodes={dead};Database=conn.db").OpenAsync());
        Assert.Equal(RaftSqlErrorCode.Unavailable, ex.Code);
    }

    [Fact]
    public void Commands_need_an_open_connection()
    {
        using var connection = new RaftSqlConnection(fixture.Cluster.ConnectionString("conn.db"));
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        Assert.Same(connection, command.Connection);
        Assert.Throws<InvalidOperationException>(() => command.ExecuteScalar());
    }

    [Fact]
    public void Properties_reflect_the_connection_string()
    {
        using var connection = new RaftSqlConnection($"Nodes={fixture.Cluster.Nodes};Database=conn.db;Read Consistency=Linearizable;Command Timeout=7;Connect Timeout=3");
        Assert.Equal(ReadConsistency.Linearizable, connection.ReadConsistency);
        Assert.Equal(7, connection.DefaultTimeout);
        Assert.Equal(3, connection.ConnectionTimeout);
        Assert.Equal(fixture.Cluster.Nodes, connection.DataSource);
        Assert.Equal(7, connection.CreateCommand().CommandTimeout);
        Assert.Same(RaftSqlFactory.Instance, System.Data.Common.DbProviderFactories.GetFactory(connection));
    }

    [Fact]
    public void ChangeDatabase_creates_and_switches()
    {
        using var connection = fixture.Open();
        string name = ClusterFixture.Table("other") + ".db";
        connection.ChangeDatabase(name);
        Assert.Equal(name, connection.Database);
        using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE t(x); INSERT INTO t VALUES (1); SELECT count(*) FROM t";
        Assert.Equal(1L, command.ExecuteScalar());
    }

    [Fact]
    public async Task Node_bound_connection_reads_and_writes_in_process()
    {
        Node follower = fixture.Cluster.AFollower();
        string table = ClusterFixture.Table("inproc");
        await using var connection = follower.CreateConnection("conn.db");
        Assert.Contains($"node {follower.Id}", connection.DataSource, StringComparison.Ordinal);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"CREATE TABLE {table}(x INTEGER); INSERT INTO {table} VALUES (5)";
        await command.ExecuteNonQueryAsync();
        command.CommandText = $"SELECT x FROM {table}";
        Assert.Equal(5L, await command.ExecuteScalarAsync());
    }
}
