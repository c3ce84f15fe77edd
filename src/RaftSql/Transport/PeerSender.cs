using System.Diagnostics;
using System.Threading.Channels;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RaftSql.Protocol;

namespace RaftSql.Transport;

/// <summary>
/// Sends Raft traffic to one peer over one reused connection. <see cref="TrySend"/> never blocks:
/// messages wait in a bounded queue (oldest dropped when full) while a background loop connects,
/// reconnects with exponential backoff, and writes them in batches. Loss is counted, never
/// reported to the caller: Raft tolerates it.
/// </summary>
internal sealed class PeerSender : IAsyncDisposable
{
    private readonly ulong _localNodeId;
    private readonly PeerSenderOptions _options;
    private readonly FaultInjector? _faults;
    private readonly ILogger _logger;
    private readonly Channel<Outgoing> _queue;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _sendLoop;
    private long _sentCount;
    private long _queueDropCount;
    private long _faultDropCount;
    private long _lostCount;
    private volatile bool _connected;

    public PeerSender(ulong localNodeId, ulong peerNodeId, string peerAddress, PeerSenderOptions? options = null,
        FaultInjector? faults = null, ILoggerFactory? loggerFactory = null)
    {
        NodeAddress.Parse(peerAddress); // fail fast on a malformed address
        _localNodeId = localNodeId;
        PeerNodeId = peerNodeId;
        PeerAddress = peerAddress;
        _options = options ?? new PeerSenderOptions();
        _faults = faults;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<PeerSender>();
        _queue = Channel.CreateBounded<Outgoing>(
            new BoundedChannelOptions(_options.QueueCapacity)
            {
                FullMode = BoundedChannelFullMode.DropOldest,
                SingleReader = true,
            },
            _ => Interlocked.Increment(ref _queueDropCount));
        _sendLoop = Task.Run(SendLoopAsync);
    }

    public ulong PeerNodeId { get; }

    public string PeerAddress { get; }

    /// <summary>True while a handshaken connection to the peer is open.</summary>
    public bool IsConnected => _connected;

    /// <summary>Messages written to the peer's connection and flushed.</summary>
    public long SentCount => Interlocked.Read(ref _sentCount);

    /// <summary>Messages pushed out of the full queue by newer ones.</summary>
    public long QueueDropCount => Interlocked.Read(ref _queueDropCount);

    /// <summary>Messages dropped by the <see cref="FaultInjector"/>.</summary>
    public long FaultDropCount => Interlocked.Read(ref _faultDropCount);

    /// <summary>Messages taken from the queue but lost with a failing connection (or too large to send).</summary>
    public long LostCount => Interlocked.Read(ref _lostCount);

    /// <summary>Queues <paramref name="message"/> for the peer. Returns false when it was not queued
    /// (sender disposed, or dropped by fault injection); never blocks. The message is serialized later
    /// on the send loop: do not modify it afterwards.</summary>
    public bool TrySend(PeerEnvelope message)
    {
        TimeSpan delay = TimeSpan.Zero;
        if (_faults is not null)
        {
            FaultDecision decision = _faults.Decide(_localNodeId, PeerNodeId);
            if (!decision.Deliver)
            {
                Interlocked.Increment(ref _faultDropCount);
                return false;
            }

            delay = decision.Delay;
        }

        long due = delay > TimeSpan.Zero ? Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency) : 0;
        return _queue.Writer.TryWrite(new Outgoing(message, due));
    }

    /// <summary>Stops sending; queued messages are discarded.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _sendLoop.ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task SendLoopAsync()
    {
        TimeSpan reconnectDelay = _options.InitialReconnectDelay;
        while (!_stopping.IsCancellationRequested)
        {
            Connection connection;
            try
            {
                connection = await Connection.ConnectAsync(PeerAddress, ProtocolKind.Peer, _localNodeId,
                    _options.Transport, _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (RaftSqlException ex)
            {
                TransportLog.PeerConnectFailed(_logger, PeerNodeId, PeerAddress, reconnectDelay, ex.Message);
                if (!await DelayAsync(reconnectDelay).ConfigureAwait(false))
                {
                    return;
                }

                reconnectDelay = TimeSpan.FromTicks(Math.Min(reconnectDelay.Ticks * 2, _options.MaxReconnectDelay.Ticks));
                continue;
            }

            reconnectDelay = _options.InitialReconnectDelay;
            TransportLog.PeerConnected(_logger, PeerNodeId, PeerAddress);
            _connected = true;
            try
            {
                await SendOverAsync(connection).ConfigureAwait(false);
            }
            finally
            {
                _connected = false;
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Writes queued messages to <paramref name="connection"/> until it fails or we stop.</summary>
    private async Task SendOverAsync(Connection connection)
    {
        using var broken = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        // Peer connections carry nothing back, so a read only ever ends with the close: learn about a
        // dead peer now rather than on the next write.
        Task watch = WatchForCloseAsync(connection, broken);
        var batch = new List<IMessage>(_options.MaxBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(broken.Token).ConfigureAwait(false))
            {
                await TakeBatchAsync(batch, broken.Token).ConfigureAwait(false);
                if (batch.Count == 0)
                {
                    continue;
                }

                await SendBatchAsync(connection, batch).ConfigureAwait(false);
                batch.Clear();
            }
        }
        catch (Exception ex) when (!_stopping.IsCancellationRequested
                                   && (ex is OperationCanceledException || ConnectionFailure.IsConnectionLoss(ex)))
        {
            Interlocked.Add(ref _lostCount, batch.Count);
            TransportLog.PeerConnectionLost(_logger, PeerNodeId, PeerAddress, batch.Count,
                ex is OperationCanceledException ? "closed by the peer" : ex.Message);
        }
        catch (Exception ex) when (_stopping.IsCancellationRequested
                                   && (ex is OperationCanceledException || ConnectionFailure.IsConnectionLoss(ex)))
        {
            // Stopping: queued messages are discarded by design.
        }
        finally
        {
            connection.Abort();
            await watch.ConfigureAwait(false);
        }
    }

    private async Task SendBatchAsync(Connection connection, List<IMessage> batch)
    {
        await connection.SendAsync(batch, CancellationToken.None).ConfigureAwait(false);
        Interlocked.Add(ref _sentCount, batch.Count);
    }

    /// <summary>Moves due messages from the queue into <paramref name="batch"/>, waiting for the head
    /// message's injected delay when nothing else is ready (so per-link order is kept).</summary>
    private async Task TakeBatchAsync(List<IMessage> batch, CancellationToken cancellationToken)
    {
        while (batch.Count < _options.MaxBatch && _queue.Reader.TryPeek(out Outgoing next))
        {
            TimeSpan wait = next.DueTimestamp == 0
                ? TimeSpan.Zero
                : Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next.DueTimestamp);
            if (wait > TimeSpan.Zero)
            {
                if (batch.Count > 0)
                {
                    return;
                }

                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (_queue.Reader.TryRead(out Outgoing taken))
            {
                // Checked here, one message at a time, so an oversized message cannot take the rest of
                // its batch down with it. The host is expected to chunk snapshots below the limit.
                int size = taken.Message.CalculateSize();
                if (size > _options.Transport.MaxMessageSize)
                {
                    Interlocked.Increment(ref _lostCount);
                    TransportLog.PeerMessageRejected(_logger, PeerNodeId,
                        $"{size} bytes exceeds the maximum of {_options.Transport.MaxMessageSize} bytes");
                    continue;
                }

                batch.Add(taken.Message);
            }
        }
    }

    private static async Task WatchForCloseAsync(Connection connection, CancellationTokenSource broken)
    {
        try
        {
            await connection.ReceiveAsync(PeerEnvelope.Parser, broken.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException || ex is RaftSqlException
                                   || ConnectionFailure.IsConnectionLoss(ex))
        {
            // Any outcome means the connection is finished.
        }

        await broken.CancelAsync().ConfigureAwait(false);
    }

    private async Task<bool> DelayAsync(TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _stopping.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private readonly record struct Outgoing(PeerEnvelope Message, long DueTimestamp);
}
