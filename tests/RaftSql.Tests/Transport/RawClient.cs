using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using RaftSql.Transport;

namespace RaftSql.Tests.Transport;

/// <summary>A bare socket for sending bytes that break the protocol.</summary>
internal sealed class RawClient : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public static async Task<RawClient> ConnectAsync(IPEndPoint server)
    {
        var client = new RawClient();
        await client._socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Port));
        return client;
    }

    public static byte[] Hello(ProtocolKind kind, ushort version = Handshake.CurrentVersion) =>
        Handshake.EncodeHello(new Hello(kind, version, SenderId: 0));

    public static byte[] LengthPrefix(uint length)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, length);
        return bytes;
    }

    public async Task SendAsync(params byte[][] parts)
    {
        foreach (byte[] part in parts)
        {
            await _socket.SendAsync(part);
        }
    }

    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    /// <summary>Everything the server sends until it closes the connection (a reset counts as closed).</summary>
    public async Task<byte[]> ReadUntilClosedAsync()
    {
        using var patience = new CancellationTokenSource(Eventually.Patience);
        var received = new List<byte>();
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int count = await _socket.ReceiveAsync(buffer, SocketFlags.None, patience.Token);
                if (count == 0)
                {
                    return [.. received];
                }

                received.AddRange(buffer.AsSpan(0, count));
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            return [.. received];
        }
    }

    public void Dispose() => _socket.Dispose();
}
