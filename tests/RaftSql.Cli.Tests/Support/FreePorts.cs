using System.Net;
using System.Net.Sockets;

namespace RaftSql.Cli.Tests.Support;

internal static class FreePorts
{
    /// <summary><paramref name="count"/> distinct loopback ports that were free a moment ago.</summary>
    public static int[] Take(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            listeners.ForEach(l => l.Start());
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }
}
