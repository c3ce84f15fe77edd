using Microsoft.Data.Sqlite;
using RaftSql.Sqlite;

namespace RaftSql.Gateway;

/// <summary>The statement errors the gateway turns into <see cref="RaftSqlException"/>: SQLite's own, and the
/// ones Microsoft.Data.Sqlite raises before SQLite runs anything (a parameter given no value).</summary>
internal static class StatementErrors
{
    public static bool IsStatementError(Exception error) =>
        error is SqliteException or InvalidOperationException { Source: "Microsoft.Data.Sqlite" };

    public static RaftSqlException ToRaftSqlException(Exception error) => error is SqliteException sqlite
        ? sqlite.ToRaftSqlException()
        : new RaftSqlException(RaftSqlErrorCode.SqlError, error.Message, error);
}
