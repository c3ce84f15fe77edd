using System.Data.Common;
using RaftSql.Data.Tests.Infrastructure;

namespace RaftSql.Data.Tests;

/// <summary><see cref="RaftSqlException"/> as the provider surfaces it: a <see cref="DbException"/> with a typed
/// code, SQLite's own code passed through, and a transient flag callers can retry on.</summary>
[Collection(ClusterCollection.Name)]
public sealed class RaftSqlExceptionTests(ClusterFixture fixture)
{
    [Fact]
    public void Sql_errors_carry_SQLites_extended_code_and_are_not_transient()
    {
        using var connection = fixture.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE IF NOT EXISTS unique_names (name TEXT UNIQUE)";
        command.ExecuteNonQuery();
        command.CommandText = "INSERT INTO unique_names VALUES ('same')";
        command.ExecuteNonQuery();

        DbException error = Assert.ThrowsAny<DbException>(() => command.ExecuteNonQuery());
        var typed = Assert.IsType<RaftSqlException>(error);
        Assert.Equal(RaftSqlErrorCode.SqlError, typed.Code);
        Assert.Equal((int)RaftSqlErrorCode.SqlError, typed.ErrorCode);
        Assert.Equal(2067, typed.SqliteErrorCode); // SQLITE_CONSTRAINT_UNIQUE
        Assert.False(typed.IsTransient);
    }

    [Fact]
    public void An_invalid_database_name_is_UnknownDatabase()
    {
        using var connection = new RaftSqlConnection(fixture.Cluster.ConnectionString("../escape.db"));
        var error = Assert.Throws<RaftSqlException>(() => connection.Open());
        Assert.Equal(RaftSqlErrorCode.UnknownDatabase, error.Code);
    }

    [Theory]
    [InlineData(RaftSqlErrorCode.NoLeader, true)]
    [InlineData(RaftSqlErrorCode.NotLeader, true)]
    [InlineData(RaftSqlErrorCode.Timeout, true)]
    [InlineData(RaftSqlErrorCode.Unavailable, true)]
    [InlineData(RaftSqlErrorCode.OutcomeUnknown, false)]
    [InlineData(RaftSqlErrorCode.SqlError, false)]
    public void Only_errors_that_certainly_did_nothing_are_transient(RaftSqlErrorCode code, bool transient)
    {
        Assert.Equal(transient, new RaftSqlException(code, "test").IsTransient);
    }
}
