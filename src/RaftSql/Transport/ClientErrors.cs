using RaftSql.Protocol;

namespace RaftSql.Transport;

/// <summary>Carries <see cref="RaftSqlException"/>s across the client protocol and back, code intact.</summary>
internal static class ClientErrors
{
    /// <summary>The wire form of <paramref name="exception"/>, optionally naming the leader.</summary>
    public static Error ToError(RaftSqlException exception, NodeInfo? leaderHint = null) => new()
    {
        Code = (int)exception.Code,
        Message = exception.Message,
        SqliteCode = exception.SqliteErrorCode,
        LeaderHint = leaderHint,
    };

    /// <summary>The exception an <see cref="Error"/> stands for. A code this build does not know
    /// (a newer server) becomes a ProtocolError that keeps the server's message.</summary>
    public static RaftSqlException ToException(Error error)
    {
        var code = (RaftSqlErrorCode)error.Code;
        return Enum.IsDefined(code)
            ? new RaftSqlException(code, error.Message) { SqliteErrorCode = error.SqliteCode }
            : new RaftSqlException(RaftSqlErrorCode.ProtocolError, $"Unknown error code {error.Code}: {error.Message}");
    }

    /// <summary>Returns <paramref name="response"/>, or throws the error it carries.</summary>
    public static ClientResponse ThrowIfError(this ClientResponse response) =>
        response.ResponseCase == ClientResponse.ResponseOneofCase.Error ? throw ToException(response.Error) : response;
}
