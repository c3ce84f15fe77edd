using System.Data;
using RaftSql.Data.Tests.Infrastructure;

namespace RaftSql.Data.Tests;

[Collection(ClusterCollection.Name)]
public sealed class RaftSqlTransactionTests(ClusterFixture fixture)
{
    private static long Count(RaftSqlConnection connection, string table)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM {table}";
        return (long)command.ExecuteScalar()!;
    }

    private static string CreateTable(RaftSqlConnection connection)
    {
        string t = ClusterFixture.Table("tx");
        using var command = connection.CreateCommand();
        command.CommandText = $"CREATE TABLE {t}(x)";
        command.ExecuteNonQuery();
        return t;
    }

    [Fact]
    public void Commit_makes_writes_visible_and_reads_inside_see_them()
    {
        using var connection = new RaftSqlConnection($"Nodes={fixture.Cluster.AFollower().Address};Database=conformance.db");
        connection.Open();
        string t = CreateTable(connection);
        using (RaftSqlTransaction transaction = connection.BeginTransaction())
        {
            Assert.Equal(IsolationLevel.Serializable, transaction.IsolationLevel);
            Assert.Same(connection, transaction.Connection);
            using var command = new RaftSqlCommand($"INSERT INTO {t} VALUES (1), (2)", connection, transaction);
            Assert.Equal(2, command.ExecuteNonQuery());
            Assert.Equal(2L, Count(connection, t));
            transaction.Commit();
            Assert.Null(transaction.Connection);
            Assert.Throws<InvalidOperationException>(() => transaction.Commit());
        }

        // Another connection has no session of its own: a linearizable read is what must see the commit.
        using var other = new RaftSqlConnection(fixture.Cluster.ConnectionString("conformance.db", ReadConsistency.Linearizable));
        other.Open();
        Assert.Equal(2L, Count(other, t));
    }

    [Fact]
    public async Task Rollback_and_dispose_discard_writes()
    {
        await using var connection = fixture.Open();
        string t = CreateTable(connection);
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await using var command = new RaftSqlCommand($"INSERT INTO {t} VALUES (1)", connection, (RaftSqlTransaction)transaction);
            await command.ExecuteNonQueryAsync();
            await transaction.RollbackAsync();
        }
        Assert.Equal(0L, Count(connection, t));

        using (RaftSqlTransaction transaction = connection.BeginTransaction())
        {
            using var command = new RaftSqlCommand($"INSERT INTO {t} VALUES (1)", connection, transaction);
            command.ExecuteNonQuery();
        }
        Assert.Equal(0L, Count(connection, t));
    }

    [Fact]
    public void Nested_transactions_are_refused_and_closing_rolls_back()
    {
        string t;
        using (var connection = fixture.Open())
        {
            t = CreateTable(connection);
            RaftSqlTransaction transaction = connection.BeginTransaction();
            Assert.Throws<InvalidOperationException>(() => connection.BeginTransaction());
            using var command = connection.CreateCommand();
            command.CommandText = $"INSERT INTO {t} VALUES (1)";
            command.ExecuteNonQuery(); // runs in the connection's transaction
        }
        using var again = fixture.Open();
        Assert.Equal(0L, Count(again, t));
    }

    [Fact]
    public async Task A_client_that_disappears_has_its_transaction_rolled_back()
    {
        var builder = new RaftSqlConnectionStringBuilder(fixture.Cluster.ConnectionString("conformance.db")) { Pooling = false };
        await using var connection = new RaftSqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        string t = CreateTable(connection);
        RaftSqlTransaction transaction = connection.BeginTransaction();
        await using (var command = new RaftSqlCommand($"INSERT INTO {t} VALUES (1)", connection, transaction))
            await command.ExecuteNonQueryAsync();
        await connection.Channel.AbandonAsync(); // the TCP connection drops, as if the process died

        await using var other = fixture.Open();
        await using var write = new RaftSqlCommand($"INSERT INTO {t} VALUES (2)", other);
        Assert.Equal(1, await write.ExecuteNonQueryAsync()); // the write lock was released
        Assert.Equal(1L, Count(other, t));
    }
}
