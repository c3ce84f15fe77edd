using RaftSql.Protocol;

namespace RaftSql.Gateway;

/// <summary>Typed errors and consistency levels across the client protocol.</summary>
internal static class ErrorMapper
{
    public static Error ToWire(RaftSqlException error, Protocol.NodeInfo? leaderHint = null) => new()
    {
        Code = (int)error.Code,
        Message = error.Message,
        SqliteCode = error.SqliteErrorCode,
        LeaderHint = leaderHint,
    };

    /// <summary>The error a response carries (or a protocol error when it carries something unexpected).</summary>
    public static RaftSqlException FromWire(ClientResponse response)
    {
        if (response.ResponseCase != ClientResponse.ResponseOneofCase.Error)
            return new RaftSqlException(RaftSqlErrorCode.ProtocolError, $"Unexpected response {response.ResponseCase}.");
        var error = response.Error;
        var code = Enum.IsDefined((RaftSqlErrorCode)error.Code) ? (RaftSqlErrorCode)error.Code : RaftSqlErrorCode.ProtocolError;
        return new RaftSqlException(code, error.Message) { SqliteErrorCode = error.SqliteCode };
    }

    public static Protocol.ReadConsistency ToWire(RaftSql.ReadConsistency consistency) => consistency switch
    {
        RaftSql.ReadConsistency.Local => Protocol.ReadConsistency.Local,
        RaftSql.ReadConsistency.Lease => Protocol.ReadConsistency.Lease,
        RaftSql.ReadConsistency.Linearizable => Protocol.ReadConsistency.Linearizable,
        _ => Protocol.ReadConsistency.Session,
    };

    public static RaftSql.ReadConsistency FromWire(Protocol.ReadConsistency consistency) => consistency switch
    {
        Protocol.ReadConsistency.Local => RaftSql.ReadConsistency.Local,
        Protocol.ReadConsistency.Lease => RaftSql.ReadConsistency.Lease,
        Protocol.ReadConsistency.Linearizable => RaftSql.ReadConsistency.Linearizable,
        _ => RaftSql.ReadConsistency.Session,
    };
}
