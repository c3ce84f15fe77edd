using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace RaftSql.Transport;

/// <summary>
/// The node's single TCP port: accepts connections, runs the handshake and hands each connection to
/// the handler registered for its protocol kind. A misbehaving connection is closed on its own; the
/// server keeps serving everyone else.
/// </summary>
internal sealed class TransportServer : IAsyncDisposable
{
    private readonly IPEndPoint _bindEndPoint;
    private readonly ulong _nodeId;
    private readonly TransportOptions _options;
    private readonly ILogger _logger;
    private readonly Dictionary<ProtocolKind, ConnectionHandler> _handlers = [];
    private readonly ConcurrentDictionary<Connection, Task> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _listener;
    private IPEndPoint? _localEndPoint;
    private Task? _acceptLoop;
    private int _stopped;

    public TransportServer(IPEndPoint bindEndPoint, ulong nodeId, TransportOptions? options = null,
        ILoggerFactory? loggerFactory = null)
    {
        _bindEndPoint = bindEndPoint;
        _nodeId = nodeId;
        _options = options ?? new TransportOptions();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<TransportServer>();
    }

    /// <summary>The endpoint actually bound (its port is real even when bound to port 0).</summary>
    public IPEndPoint LocalEndPoint =>
        _localEndPoint ?? throw new InvalidOperationException("The server is not started.");

    /// <summary>Number of connections currently being served (handshake or handler running).</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>Registers the handler for one protocol kind; call before <see cref="Start"/>.</summary>
    public void Register(ProtocolKind kind, ConnectionHandler handler)
    {
        if (_acceptLoop is not null)
        {
            throw new InvalidOperationException("Register handlers before starting the server.");
        }

        _handlers[kind] = handler;
    }

    /// <summary>
    /// Takes the port (connections wait in the backlog until <see cref="Start"/>), so a node can claim its address
    /// before it opens anything else. Idempotent.
    /// </summary>
    /// <exception cref="RaftSqlException">AddressInUse when another socket listens there (Unavailable for other failures).</exception>
    public void Bind()
    {
        if (_listener is not null)
        {
            return;
        }

        _listener = ListenSocket.Open(_bindEndPoint, backlog: 512);
        _localEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        TransportLog.Listening(_logger, _nodeId, LocalEndPoint);
    }

    /// <summary>Binds if <see cref="Bind"/> was not called, then starts accepting connections.</summary>
    public void Start()
    {
        if (_acceptLoop is not null)
        {
            throw new InvalidOperationException("The server is already started.");
        }

        Bind();
        _acceptLoop = AcceptLoopAsync(_listener!);
    }

    /// <summary>Stops accepting, closes every connection and waits for all handlers to return.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0 || _listener is null)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        if (_acceptLoop is null)
        {
            return; // bound, never started
        }

        await _acceptLoop.ConfigureAwait(false);
        foreach (Connection connection in _connections.Keys)
        {
            connection.Abort();
        }

        await Task.WhenAll(_connections.Values).ConfigureAwait(false);
        TransportLog.Stopped(_logger, _nodeId);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException
                                           || (ex is SocketException && _stopping.IsCancellationRequested))
            {
                return;
            }
            catch (SocketException ex)
            {
                // A connection reset before we accepted it; the listener itself is fine.
                TransportLog.ConnectionLost(_logger, null, ex.Message);
                continue;
            }

            var connection = new Connection(socket, _options);
            // Tracked before it starts, so its own removal (in ServeAsync) always comes after the add,
            // and it runs on the thread pool, never holding up the accept loop.
            var serving = new Task<Task>(() => ServeAsync(connection));
            _connections[connection] = serving.Unwrap();
            serving.Start(TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(Connection connection)
    {
        ProtocolKind kind = default;
        try
        {
            Hello? hello = await ReadHelloAsync(connection).ConfigureAwait(false);
            if (hello is null)
            {
                return;
            }

            kind = hello.Value.Kind;
            ConnectionHandler? handler = await AnswerHelloAsync(connection, hello.Value).ConfigureAwait(false);
            if (handler is not null)
            {
                await handler(connection, _stopping.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ConnectionFailure.IsProtocolViolation(ex))
        {
            TransportLog.ProtocolViolation(_logger, connection.RemoteEndPoint, ex.Message);
        }
        catch (Exception ex) when (_stopping.IsCancellationRequested
                                   && (ex is OperationCanceledException || ConnectionFailure.IsConnectionLoss(ex)))
        {
            // Closed by StopAsync.
        }
        catch (Exception ex) when (ConnectionFailure.IsConnectionLoss(ex))
        {
            TransportLog.ConnectionLost(_logger, connection.RemoteEndPoint, ex.Message);
        }
        catch (Exception ex)
        {
            TransportLog.HandlerFailed(_logger, ex, kind, connection.RemoteEndPoint);
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            _connections.TryRemove(connection, out _);
        }
    }

    private async Task<Hello?> ReadHelloAsync(Connection connection)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(_options.HandshakeTimeout);
        try
        {
            Hello? hello = await connection.ReadHelloAsync(timeout.Token).ConfigureAwait(false);
            if (hello is null)
            {
                TransportLog.ConnectionLost(_logger, connection.RemoteEndPoint, "closed before the handshake");
            }

            return hello;
        }
        catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
        {
            TransportLog.HandshakeTimedOut(_logger, connection.RemoteEndPoint);
            return null;
        }
    }

    /// <summary>Replies to the hello; returns the handler to run, or null after a refusal.</summary>
    private async Task<ConnectionHandler?> AnswerHelloAsync(Connection connection, Hello hello)
    {
        HandshakeStatus status = !_handlers.TryGetValue(hello.Kind, out ConnectionHandler? handler)
            ? HandshakeStatus.UnknownKind
            : hello.Version != Handshake.CurrentVersion
                ? HandshakeStatus.UnsupportedVersion
                : HandshakeStatus.Accepted;
        await connection.ReplyAsync(hello, new HandshakeReply(status, Handshake.CurrentVersion, _nodeId), _stopping.Token)
            .ConfigureAwait(false);
        if (status == HandshakeStatus.Accepted)
        {
            return handler;
        }

        TransportLog.HandshakeRefused(_logger, connection.RemoteEndPoint, status, hello.Kind, hello.Version);
        return null;
    }
}
