using System.Data.Common;

namespace RaftSql.Data;

/// <summary>Creates RaftSql's ADO.NET objects; register <see cref="Instance"/> with DbProviderFactories.</summary>
public sealed class RaftSqlFactory : DbProviderFactory
{
    /// <summary>The one instance.</summary>
    public static readonly RaftSqlFactory Instance = new();

    private RaftSqlFactory()
    {
    }

    /// <summary>Creates a <see cref="RaftSqlCommand"/>.</summary>
    public override DbCommand CreateCommand() => new RaftSqlCommand();

    /// <summary>Creates a closed <see cref="RaftSqlConnection"/>.</summary>
    public override DbConnection CreateConnection() => new RaftSqlConnection();

    /// <summary>Creates a <see cref="RaftSqlConnectionStringBuilder"/>.</summary>
    public override DbConnectionStringBuilder CreateConnectionStringBuilder() => new RaftSqlConnectionStringBuilder();

    /// <summary>Creates a <see cref="RaftSqlParameter"/>.</summary>
    public override DbParameter CreateParameter() => new RaftSqlParameter();

    /// <summary>Creates a <see cref="RaftSqlDataSource"/> for <paramref name="connectionString"/>.</summary>
    public override DbDataSource CreateDataSource(string connectionString) => new RaftSqlDataSource(connectionString);
}
