using Microsoft.Extensions.Logging;

namespace RaftSql.Cli.Output;

internal static partial class CliLog
{
    [LoggerMessage(EventId = 9000, Level = LogLevel.Information, Message = "Node {Id} serving at {Address}, data in {DataDirectory}; Ctrl+C or SIGTERM stops it")]
    public static partial void Serving(ILogger logger, ulong id, string address, string dataDirectory);

    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "Asking the cluster at {Addresses} to add node {Id} as {Role}")]
    public static partial void Joining(ILogger logger, string addresses, ulong id, NodeRole role);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Warning, Message = "Joining failed ({Code}: {Reason}); retrying")]
    public static partial void JoinRetry(ILogger logger, RaftSqlErrorCode code, string reason);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Information, Message = "Node {Id} is a member of the cluster")]
    public static partial void Joined(ILogger logger, ulong id);

    [LoggerMessage(EventId = 9004, Level = LogLevel.Information, Message = "Stopping node {Id} gracefully")]
    public static partial void Stopping(ILogger logger, ulong id);

    [LoggerMessage(EventId = 9005, Level = LogLevel.Information, Message = "Node {Id} stopped")]
    public static partial void Stopped(ILogger logger, ulong id);
}
