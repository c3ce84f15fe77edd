using Microsoft.Extensions.Logging;

namespace RaftSql;

internal static partial class NodeLog
{
    [LoggerMessage(EventId = 4100, Level = LogLevel.Warning, Message = "Could not hand leadership over before stopping")]
    public static partial void HandOverFailed(ILogger logger, Exception exception);
}
