using System.Net.Sockets;

namespace RaftSql.Transport;

internal static class ConnectionFailure
{
    /// <summary>True for the exceptions a broken or closed socket produces (as opposed to our bugs).</summary>
    public static bool IsConnectionLoss(Exception ex) =>
        ex is IOException or SocketException or ObjectDisposedException
        || ex is RaftSqlException { Code: RaftSqlErrorCode.Unavailable };

    /// <summary>True for input that breaks the wire protocol: the connection must be closed.</summary>
    public static bool IsProtocolViolation(Exception ex) =>
        ex is RaftSqlException { Code: RaftSqlErrorCode.ProtocolError or RaftSqlErrorCode.MessageTooLarge };
}
