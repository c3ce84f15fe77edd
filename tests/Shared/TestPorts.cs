using System.Net;
using System.Net.Sockets;

namespace RaftSql.Testing;

/// <summary>
/// Loopback ports for test nodes, handed out below the kernel's ephemeral range (32768 and up on Linux). A port
/// found free by binding port 0 lies inside that range, and until the node listens on it any outgoing connection
/// (every peer link of every cluster in the test run) may take it as its local port: "address already in use".
/// Each process starts at a random place in the range and checks that a port is free before handing it out.
/// </summary>
internal static class TestPorts
{
    private const int First = 20000;
    private const int Count = 12000;
    private static int _next = Random.Shared.Next(Count);

    public static int Next()
    {
        for (var attempt = 0; attempt < Count; attempt++)
        {
            var port = First + (int)((uint)Interlocked.Increment(ref _next) % Count);
            if (IsFree(port))
                return port;
        }
        throw new InvalidOperationException($"No free loopback port between {First} and {First + Count}.");
    }

    /// <summary><paramref name="count"/> distinct free ports.</summary>
    public static int[] Take(int count) => [.. Enumerable.Range(0, count).Select(_ => Next())];

    private static bool IsFree(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
