using System.Data;
using RaftSql.Data.Tests.Infrastructure;

namespace RaftSql.Data.Tests;

[Collection(ClusterCollection.Name)]
public sealed class RaftSqlCommandTests(ClusterFixture fixture)
{
    [Fact]
    public void ExecuteNonQuery_returns_rows_changed_and_ExecuteScalar_the_first_value()
    {
        string t = ClusterFixture.Table("cmd");
        using var connection = fixture.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"CREATE TABLE {t}(id INTEGER PRIMARY KEY, name TEXT)";
        command.ExecuteNonQuery();
        command.CommandText = $"INSERT INTO {t}(name) VALUES ('a'), ('b'), ('c')";
        Assert.Equal(3, command.ExecuteNonQuery());
        command.CommandText = $"UPDATE {t} SET name = 'z' WHERE id > 1";
        Assert.Equal(2, command.ExecuteNonQuery());
        command.CommandText = $"SELECT count(*) FROM {t} WHERE name = 'z'";
        Assert.Equal(2L, command.ExecuteScalar());
        command.CommandText = $"SELECT name FROM {t} WHERE id = 99";
        Assert.Null(command.ExecuteScalar());
    }

    [Fact]
    public async Task Several_statements_and_RETURNING_run_as_one_command()
    {
        string t = ClusterFixture.Table("multi");
        await using var connection = fixture.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"CREATE TABLE {t}(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO {t}(v) VALUES ('x') RETURNING id, v; SELECT count(*) FROM {t}";
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(1L, reader.GetInt64(0));
        Assert.Equal("x", reader.GetString(1));
        Assert.False(await reader.ReadAsync());
        Assert.True(await reader.NextResultAsync());
        Assert.True(await reader.ReadAsync());
        Assert.Equal(1L, reader.GetInt64(0));
        Assert.False(await reader.NextResultAsync());
        Assert.Equal(1, reader.RecordsAffected);
    }

    [Fact]
    public async Task A_command_that_only_reads_affects_minus_one_rows_remotely_and_in_process()
    {
        string t = ClusterFixture.Table("readonly");
        await using var connection = fixture.Open();
        await using var create = connection.CreateCommand();
        create.CommandText = $"CREATE TABLE {t}(v TEXT); INSERT INTO {t} VALUES ('a')";
        Assert.Equal(1, await create.ExecuteNonQueryAsync());

        await using var inProcess = fixture.Cluster.Running.First().CreateConnection(connection.Database, ReadConsistency.Linearizable);
        await inProcess.OpenAsync();
        foreach (var reading in new[] { connection, inProcess })
        {
            await using var select = reading.CreateCommand();
            select.CommandText = $"SELECT v FROM {t}";
            Assert.Equal(-1, await select.ExecuteNonQueryAsync());
        }
    }

    [Fact]
    public void SQL_errors_carry_SQLites_code_and_leave_the_connection_usable()
    {
        using var connection = fixture.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELEC nonsense";
        var syntax = Assert.Throws<RaftSqlException>(() => command.ExecuteNonQuery());
        Assert.Equal(RaftSqlErrorCode.SqlError, syntax.Code);
        Assert.Equal(1, syntax.SqliteErrorCode & 0xFF); // SQLITE_ERROR

        string t = ClusterFixture.Table("uniq");
        command.CommandText = $"CREATE TABLE {t}(id INTEGER PRIMARY KEY); INSERT INTO {t} VALUES (1)";
        command.ExecuteNonQuery();
        command.CommandText = $"INSERT INTO {t} VALUES (1)";
        var constraint = Assert.Throws<RaftSqlException>(() => command.ExecuteNonQuery());
        Assert.Equal(RaftSqlErrorCode.SqlError, constraint.Code);
        Assert.Equal(19, constraint.SqliteErrorCode & 0xFF); // SQLITE_CONSTRAINT
        Assert.IsAssignableFrom<System.Data.Common.DbException>(constraint);

        command.CommandText = "SELECT 1";
        Assert.Equal(1L, command.ExecuteScalar());
    }

    [Fact]
    public void Writes_through_a_follower_node_reach_the_leader()
    {
        string t = ClusterFixture.Table("fwd");
        Node follower = fixture.Cluster.AFollower();
        using var connection = new RaftSqlConnection($"Nodes={follower.Address};Database=conformance.db");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"CREATE TABLE {t}(x); INSERT INTO {t} VALUES (1), (2)";
        command.ExecuteNonQuery();
        command.CommandText = $"SELECT sum(x) FROM {t}";
        Assert.Equal(3L, command.ExecuteScalar());
    }

    [Fact]
    public void Empty_text_other_command_types_and_missing_connection_are_refused()
    {
        var command = new RaftSqlCommand();
        Assert.Throws<InvalidOperationException>(() => command.ExecuteNonQuery());
        Assert.Throws<ArgumentException>(() => command.CommandType = CommandType.StoredProcedure);
        Assert.Throws<ArgumentOutOfRangeException>(() => command.CommandTimeout = -1);
        using var connection = fixture.Open();
        command.Connection = connection;
        command.CommandText = " ";
        Assert.Throws<InvalidOperationException>(() => command.ExecuteNonQuery());
    }

    [Fact]
    public async Task A_cancelled_token_cancels_the_command()
    {
        await using var connection = fixture.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => command.ExecuteScalarAsync(cancelled.Token));
    }
}
