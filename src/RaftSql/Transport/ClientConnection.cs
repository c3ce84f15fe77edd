using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RaftSql.Protocol;

namespace RaftSql.Transport;

/// <summary>
/// The client side of the client protocol: many concurrent requests multiplexed on one connection,
/// matched to their responses by request id. A request that outlives its time limit fails with
/// <see cref="RaftSqlErrorCode.Timeout"/>; when the connection is lost every pending and later
/// request fails with <see cref="RaftSqlErrorCode.Unavailable"/> (open a new connection to retry).
/// </summary>
internal sealed class ClientConnection : IAsyncDisposable
{
    private readonly Connection _connection;
    private readonly string _address;
    private readonly ClientConnectionOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<ClientResponse>> _pending = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _receiveLoop;
    private long _lastRequestId;
    private volatile RaftSqlException? _closedReason;

    private ClientConnection(Connection connection, string address, ClientConnectionOptions options, ILogger logger)
    {
        _connection = connection;
        _address = address;
        _options = options;
        _logger = logger;
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    /// <summary>The id of the node at the other end, as it said in the handshake.</summary>
    public ulong ServerNodeId => _connection.RemoteNodeId;

    public string Address => _address;

    /// <summary>False once the connection is lost or disposed.</summary>
    public bool IsOpen => _closedReason is null;

    public static async Task<ClientConnection> ConnectAsync(string address, ClientConnectionOptions? options = null,
        ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        options ??= new ClientConnectionOptions();
        Connection connection = await Connection.ConnectAsync(address, ProtocolKind.Client, options.LocalNodeId,
            options.Transport, cancellationToken).ConfigureAwait(false);
        ILogger logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<ClientConnection>();
        return new ClientConnection(connection, address, options, logger);
    }

    public Task<ClientResponse> SendAsync(ClientRequest request, CancellationToken cancellationToken = default) =>
        SendAsync(request, _options.DefaultTimeout, cancellationToken);

    /// <summary>
    /// Sends <paramref name="request"/> (its <c>RequestId</c> is overwritten with a fresh id; do not
    /// modify it until the call returns) and waits for the answer. Cancelling <paramref name="cancellationToken"/> throws
    /// <see cref="OperationCanceledException"/>; the server may still carry the request out.
    /// </summary>
    public async Task<ClientResponse> SendAsync(ClientRequest request, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        ulong requestId = (ulong)Interlocked.Increment(ref _lastRequestId);
        request.RequestId = requestId;
        var answer = new TaskCompletionSource<ClientResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[requestId] = answer;
        try
        {
            // Checked after registering, so a concurrent connection loss cannot miss this request.
            ThrowIfClosed();
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            try
            {
                // Not awaited on its own: a send stuck behind a peer that stopped reading must not
                // outlive the deadline. A failed send completes the answer with its error.
                _ = SendRequestAsync(request, answer, deadline.Token);
                return await answer.Task.WaitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new RaftSqlException(RaftSqlErrorCode.Timeout,
                    $"No answer from {_address} within {timeout.TotalMilliseconds:0} ms.");
            }
        }
        finally
        {
            _pending.TryRemove(requestId, out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Close(new RaftSqlException(RaftSqlErrorCode.Unavailable, $"The connection to {_address} was closed."));
        await _receiveLoop.ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        _closing.Dispose();
    }

    private async Task SendRequestAsync(ClientRequest request, TaskCompletionSource<ClientResponse> answer,
        CancellationToken cancellationToken)
    {
        try
        {
            if (_options.Faults is { } faults)
            {
                FaultDecision decision = faults.Decide(_options.LocalNodeId, ServerNodeId);
                if (!decision.Deliver)
                {
                    return; // lost on the way: the caller times out, as over a real partition
                }

                await Task.Delay(decision.Delay, cancellationToken).ConfigureAwait(false);
            }

            await _connection.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The caller gave up (deadline or cancellation) and reports that itself.
        }
        catch (Exception ex) when (ConnectionFailure.IsConnectionLoss(ex))
        {
            var reason = new RaftSqlException(RaftSqlErrorCode.Unavailable, $"Lost the connection to {_address}: {ex.Message}", ex);
            Close(reason);
            answer.TrySetException(reason);
        }
        catch (Exception ex)
        {
            // MessageTooLarge and the like: this request fails, the connection stays usable.
            answer.TrySetException(ex);
        }
    }

    private async Task ReceiveLoopAsync()
    {
        RaftSqlException reason;
        try
        {
            while (true)
            {
                ClientResponse? response = await _connection.ReceiveAsync(ClientResponse.Parser, _closing.Token)
                    .ConfigureAwait(false);
                if (response is null)
                {
                    reason = new RaftSqlException(RaftSqlErrorCode.Unavailable, $"{_address} closed the connection.");
                    break;
                }

                Deliver(response);
            }
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
            return; // closed by us; Close already failed the pending requests
        }
        catch (Exception ex) when (ConnectionFailure.IsProtocolViolation(ex))
        {
            TransportLog.ClientProtocolViolation(_logger, _address, ex.Message);
            reason = new RaftSqlException(RaftSqlErrorCode.Unavailable,
                $"Closed the connection to {_address} after bad input: {ex.Message}", ex);
        }
        catch (Exception ex)
        {
            // Connection loss, or anything unexpected: either way nothing more will arrive here.
            reason = new RaftSqlException(RaftSqlErrorCode.Unavailable, $"Lost the connection to {_address}: {ex.Message}", ex);
        }

        TransportLog.ClientConnectionLost(_logger, _address, _pending.Count, reason.Message);
        Close(reason);
    }

    private void Deliver(ClientResponse response)
    {
        if (_options.Faults is { } faults && !faults.Decide(ServerNodeId, _options.LocalNodeId).Deliver)
        {
            return;
        }

        // An unknown id is the late answer to a request that timed out or was cancelled.
        if (_pending.TryRemove(response.RequestId, out TaskCompletionSource<ClientResponse>? answer))
        {
            answer.TrySetResult(response);
        }
    }

    private void Close(RaftSqlException reason)
    {
        if (Interlocked.CompareExchange(ref _closedReason, reason, null) is not null)
        {
            return;
        }

        _closing.Cancel();
        _connection.Abort();
        foreach (ulong requestId in _pending.Keys)
        {
            if (_pending.TryRemove(requestId, out TaskCompletionSource<ClientResponse>? answer))
            {
                answer.TrySetException(reason);
            }
        }
    }

    private void ThrowIfClosed()
    {
        if (_closedReason is { } reason)
        {
            throw new RaftSqlException(reason.Code, reason.Message, reason);
        }
    }
}
