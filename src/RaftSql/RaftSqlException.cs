using System.Data.Common;

namespace RaftSql;

/// <summary>The one exception type RaftSql throws for its own failures; <see cref="Code"/> says which.</summary>
public class RaftSqlException : DbException
{
    public RaftSqlException(RaftSqlErrorCode code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
    }

    public RaftSqlErrorCode Code { get; }

    /// <summary>For <see cref="RaftSqlErrorCode.SqlError"/>: SQLite's (extended) result code; otherwise 0.</summary>
    public int SqliteErrorCode { get; init; }

    public override int ErrorCode => (int)Code;

    /// <summary>True when retrying the same operation later may succeed (no leader yet, timeout, unreachable).</summary>
    public override bool IsTransient => Code is RaftSqlErrorCode.NoLeader or RaftSqlErrorCode.NotLeader
        or RaftSqlErrorCode.Timeout or RaftSqlErrorCode.Unavailable;
}
