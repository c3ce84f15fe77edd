using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;

namespace RaftSql.Transport;

/// <summary>
/// One TCP connection after (or during) the handshake: framed protobuf messages both ways.
/// Receiving is single-consumer; sending is safe from many threads (frames never interleave).
/// </summary>
internal sealed class Connection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly PipeReader _pipeReader;
    private readonly PipeWriter _pipeWriter;
    private readonly FrameReader _reader;
    private readonly FrameWriter _writer;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private int _disposed;
    private int _queuedSenders;

    internal Connection(Socket socket, TransportOptions options)
    {
        _socket = socket;
        _socket.NoDelay = true;
        Options = options;
        RemoteEndPoint = socket.RemoteEndPoint;
        var stream = new NetworkStream(socket, ownsSocket: false);
        _pipeReader = PipeReader.Create(stream);
        _pipeWriter = PipeWriter.Create(stream);
        _reader = new FrameReader(_pipeReader, options.MaxMessageSize);
        _writer = new FrameWriter(_pipeWriter, options.MaxMessageSize);
    }

    public TransportOptions Options { get; }

    public EndPoint? RemoteEndPoint { get; }

    /// <summary>The protocol agreed in the handshake.</summary>
    public ProtocolKind Kind { get; private set; }

    /// <summary>The node id of the other side: the server's id on an outgoing connection, the sender's
    /// announced id (0 for clients) on an accepted one.</summary>
    public ulong RemoteNodeId { get; private set; }

    /// <summary>Opens a connection to <paramref name="address"/> and completes the handshake.
    /// Unreachable or timed out: <see cref="RaftSqlErrorCode.Unavailable"/>; refused by the server:
    /// <see cref="RaftSqlErrorCode.ProtocolError"/>.</summary>
    public static async Task<Connection> ConnectAsync(string address, ProtocolKind kind, ulong localNodeId,
        TransportOptions options, CancellationToken cancellationToken, ushort version = Handshake.CurrentVersion)
    {
        NodeAddress target = NodeAddress.Parse(address);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout + options.HandshakeTimeout);
        Socket? socket = null;
        try
        {
            socket = await ConnectSocketAsync(target, timeout.Token).ConfigureAwait(false);
            var connection = new Connection(socket, options);
            try
            {
                await connection.SendHelloAsync(new Hello(kind, version, localNodeId), timeout.Token).ConfigureAwait(false);
                return connection;
            }
            catch
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket?.Dispose();
            throw new RaftSqlException(RaftSqlErrorCode.Unavailable, $"Timed out connecting to {target}.");
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            socket?.Dispose();
            throw new RaftSqlException(RaftSqlErrorCode.Unavailable, $"Cannot connect to {target}: {ex.Message}", ex);
        }
    }

    /// <summary>Reads the next message; null when the other side closed cleanly between messages.</summary>
    public ValueTask<T?> ReceiveAsync<T>(MessageParser<T> parser, CancellationToken cancellationToken)
        where T : class, IMessage<T> =>
        _reader.ReadAsync(parser, cancellationToken);

    public Task SendAsync(IMessage message, CancellationToken cancellationToken) =>
        SendAsync([message], cancellationToken);

    /// <summary>
    /// Sends messages as whole frames. <paramref name="cancellationToken"/> only cancels the wait for
    /// the send lock: a frame, once started, is always finished so the stream stays framed.
    /// When other senders are queued behind this one, the flush is left to the last of them, so a burst
    /// of concurrent messages costs one write to the socket instead of one each.
    /// </summary>
    public async Task SendAsync(IReadOnlyList<IMessage> messages, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _queuedSenders);
        try
        {
            await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Decrement(ref _queuedSenders);
            // The sender ahead of us may have counted on us to flush its frames.
            _ = FlushLeftoversAsync();
            throw;
        }

        Interlocked.Decrement(ref _queuedSenders);
        try
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                throw new IOException("The connection is closed.");
            }

            try
            {
                foreach (IMessage message in messages)
                {
                    _writer.Write(message);
                }
            }
            finally
            {
                // Frames buffered before an oversized one are whole and valid: they go out too.
                if (Volatile.Read(ref _queuedSenders) == 0)
                {
                    await _writer.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Server side: reads the hello. A wrong magic throws ProtocolError; an early close
    /// returns null.</summary>
    internal async Task<Hello?> ReadHelloAsync(CancellationToken cancellationToken)
    {
        var bytes = new byte[Handshake.HelloSize];
        if (!await _reader.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return Handshake.DecodeHello(bytes);
    }

    /// <summary>Server side: answers the hello; on acceptance the connection is ready for frames.</summary>
    internal async Task ReplyAsync(Hello hello, HandshakeReply reply, CancellationToken cancellationToken)
    {
        _writer.WriteRaw(Handshake.EncodeReply(reply));
        await _writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        Kind = hello.Kind;
        RemoteNodeId = hello.SenderId;
    }

    /// <summary>Closes the socket at once, failing any receive or send in progress. Safe from any thread.</summary>
    public void Abort()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already closed by the other side or by us: nothing left to shut down.
        }

        _socket.Dispose();
    }

    /// <summary>Closes the connection. Call it once nobody is receiving any more.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Abort();
        // A send in progress fails fast on the closed socket; wait for it before completing the pipe.
        await _sendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            // Completing tries to flush what a failed send left buffered; the socket is closed, so that fails.
            await _pipeWriter.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ConnectionFailure.IsConnectionLoss(ex))
        {
            // Nothing more can be sent anyway.
        }
        finally
        {
            _sendLock.Release();
        }

        await _pipeReader.CompleteAsync().ConfigureAwait(false);
    }

    private async Task FlushLeftoversAsync()
    {
        await _sendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _disposed) == 0)
            {
                await _writer.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ConnectionFailure.IsConnectionLoss(ex))
        {
            // The connection is gone; whoever reads from it learns that on its own.
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task SendHelloAsync(Hello hello, CancellationToken cancellationToken)
    {
        _writer.WriteRaw(Handshake.EncodeHello(hello));
        await _writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        var bytes = new byte[Handshake.ReplySize];
        if (!await _reader.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false))
        {
            throw new RaftSqlException(RaftSqlErrorCode.ProtocolError,
                $"{RemoteEndPoint} closed the connection during the handshake.");
        }

        HandshakeReply reply = Handshake.DecodeReply(bytes);
        if (reply.Status != HandshakeStatus.Accepted)
        {
            throw new RaftSqlException(RaftSqlErrorCode.ProtocolError,
                $"{RemoteEndPoint} refused the handshake ({reply.Status}; it speaks version {reply.Version}, we asked for {hello.Kind} version {hello.Version}).");
        }

        Kind = hello.Kind;
        RemoteNodeId = reply.NodeId;
    }

    private static async Task<Socket> ConnectSocketAsync(NodeAddress target, CancellationToken cancellationToken)
    {
        SocketException? lastError = null;
        foreach (IPAddress address in await target.ResolveAsync(cancellationToken).ConfigureAwait(false))
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, target.Port), cancellationToken).ConfigureAwait(false);
                return socket;
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                lastError = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw lastError ?? new SocketException((int)SocketError.HostNotFound);
    }
}
