using Microsoft.Data.Sqlite;

namespace RaftSql.Sqlite;

/// <summary>
/// Carries a failed commit's typed error from the VFS (which can only return an SQLite code) to the
/// caller. Microsoft.Data.Sqlite runs statements on the calling thread, so the VFS records the error
/// for that thread and <see cref="ToRaftSqlException"/> picks it up.
/// </summary>
public static class CommitFailures
{
    [ThreadStatic]
    private static RaftSqlException? t_last;

    internal static void Record(RaftSqlException error) => t_last = error;

    internal static void Clear() => t_last = null;

    /// <summary>The typed error behind <paramref name="error"/>: the replication failure the VFS recorded
    /// on this thread for a failed commit, otherwise <see cref="RaftSqlErrorCode.SqlError"/>.</summary>
    public static RaftSqlException ToRaftSqlException(this SqliteException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var recorded = t_last;
        t_last = null;
        if (recorded != null && (error.SqliteErrorCode & 0xff) == Native.SqliteApi.IoErr)
        {
            return new RaftSqlException(recorded.Code, recorded.Message, error);
        }
        return new RaftSqlException(RaftSqlErrorCode.SqlError, error.Message, error)
        {
            SqliteErrorCode = error.SqliteExtendedErrorCode,
        };
    }
}
