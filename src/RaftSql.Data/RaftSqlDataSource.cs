using System.Data.Common;

namespace RaftSql.Data;

/// <summary>Hands out connections for one connection string (for dependency injection).</summary>
public sealed class RaftSqlDataSource : DbDataSource
{
    private readonly string _connectionString;

    /// <summary>Creates a data source for <paramref name="connectionString"/>.</summary>
    /// <exception cref="ArgumentException">The connection string is malformed.</exception>
    public RaftSqlDataSource(string connectionString)
    {
        // Parsed once here so a malformed string fails at startup, not at the first query.
        _connectionString = new RaftSqlConnectionStringBuilder(connectionString).ConnectionString;
    }

    /// <summary>The connection string every connection gets.</summary>
    public override string ConnectionString => _connectionString;

    /// <summary>Creates a closed connection.</summary>
    public new RaftSqlConnection CreateConnection() => new(_connectionString);

    /// <summary>Creates and opens a connection.</summary>
    public new RaftSqlConnection OpenConnection()
    {
        RaftSqlConnection connection = CreateConnection();
        connection.Open();
        return connection;
    }

    /// <inheritdoc />
    protected override DbConnection CreateDbConnection() => CreateConnection();
}
