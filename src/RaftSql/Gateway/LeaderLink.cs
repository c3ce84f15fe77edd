using Microsoft.Extensions.Logging;
using RaftSql.Hosting;
using RaftSql.Protocol;
using RaftSql.Transport;

namespace RaftSql.Gateway;

/// <summary>
/// This node's client connection to the current leader, for forwarding writes and lease reads. One
/// connection is reused and replaced when the leader changes or the connection breaks.
/// </summary>
internal sealed class LeaderLink : ILeaderLink, IAsyncDisposable
{
    private readonly PeerNetwork _network;
    private readonly TimeSpan _timeout;
    private readonly ILoggerFactory _loggerFactory;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ClientConnection? _connection;
    private ulong _connectedTo;

    public LeaderLink(PeerNetwork network, TimeSpan timeout, ILoggerFactory loggerFactory)
    {
        _network = network;
        _timeout = timeout;
        _loggerFactory = loggerFactory;
    }

    /// <summary>Sends <paramref name="request"/> to node <paramref name="leaderId"/> and returns its answer.</summary>
    public async Task<ClientResponse> SendAsync(ulong leaderId, ClientRequest request, CancellationToken cancellationToken)
    {
        var connection = await ConnectAsync(leaderId, cancellationToken).ConfigureAwait(false);
        return await connection.SendAsync(request, _timeout, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ClientConnection> ConnectAsync(ulong leaderId, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connection is { IsOpen: true } open && _connectedTo == leaderId)
                return open;
            if (_connection is not null)
                await _connection.DisposeAsync().ConfigureAwait(false);
            _connection = null;
            var address = _network.AddressOf(leaderId)
                ?? throw new LeaderUnreachableException($"The address of leader {leaderId} is not known yet.", null);
            var options = new ClientConnectionOptions
            {
                Transport = _network.TransportOptions,
                DefaultTimeout = _timeout,
                LocalNodeId = _network.SelfId,
                Faults = _network.Faults,
            };
            try
            {
                _connection = await ClientConnection.ConnectAsync(address, options, _loggerFactory, cancellationToken).ConfigureAwait(false);
            }
            catch (RaftSqlException ex)
            {
                throw new LeaderUnreachableException($"Cannot reach leader {leaderId} at {address}: {ex.Message}", ex);
            }
            _connectedTo = leaderId;
            return _connection;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_connection is not null)
                await _connection.DisposeAsync().ConfigureAwait(false);
            _connection = null;
        }
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>The leader could not be reached at all, so nothing was sent to it: safe to retry.</summary>
internal sealed class LeaderUnreachableException(string message, Exception? inner) : Exception(message, inner);
