using System.Net;
using System.Net.Sockets;

namespace RaftSql.Transport;

/// <summary>
/// Opens a listening socket that a second process cannot share, yet that a restarted node can open at once.
/// .NET's <see cref="SocketOptionName.ReuseAddress"/> also sets SO_REUSEPORT on Unix, which lets another process
/// bind a live listener's port and take half its connections; plain SO_REUSEADDR only lets the bind pass
/// connections of an earlier listener still lingering in TIME_WAIT. (.NET's Bind sets SO_REUSEADDR on Linux by
/// itself; it is set explicitly here so a quick restart does not hang on that detail.)
/// </summary>
internal static class ListenSocket
{
    public static Socket Open(IPEndPoint endPoint, int backlog)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            AllowRebindOverTimeWait(socket);
            socket.Bind(endPoint);
            socket.Listen(backlog);
            return socket;
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw ex.SocketErrorCode == SocketError.AddressAlreadyInUse
                ? new RaftSqlException(RaftSqlErrorCode.AddressInUse,
                    $"Cannot listen on {endPoint}: the address is already in use (is a node already running with it?).", ex)
                : new RaftSqlException(RaftSqlErrorCode.Unavailable, $"Cannot listen on {endPoint}: {ex.Message}", ex);
        }
    }

    private static void AllowRebindOverTimeWait(Socket socket)
    {
        // Windows needs nothing: TIME_WAIT does not block a bind there, and its SO_REUSEADDR would allow sharing.
        if (OperatingSystem.IsLinux())
        {
            socket.SetRawSocketOption(1 /* SOL_SOCKET */, 2 /* SO_REUSEADDR */, BitConverter.GetBytes(1));
        }
        else if (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
        {
            socket.SetRawSocketOption(0xFFFF /* SOL_SOCKET */, 0x4 /* SO_REUSEADDR */, BitConverter.GetBytes(1));
        }
    }
}
