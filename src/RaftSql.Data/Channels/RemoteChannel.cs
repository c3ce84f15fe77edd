using RaftSql.Protocol;
using RaftSql.Transport;

namespace RaftSql.Data.Channels;

/// <summary>
/// Reaches the cluster over TCP: one client connection at a time, to the first node of the list that
/// answers (or to the leader once a transaction needs it). A lost connection is replaced on the next
/// request, again trying the nodes in order.
/// </summary>
internal sealed class RemoteChannel : IClusterChannel
{
    private static readonly TimeSpan LeaderPoll = TimeSpan.FromMilliseconds(50);

    private readonly IReadOnlyList<string> _nodes;
    private readonly ClientConnectionOptions _options;
    private readonly bool _pooling;
    private ClientConnection? _current;

    public RemoteChannel(IReadOnlyList<string> nodes, TimeSpan connectTimeout, bool pooling)
    {
        _nodes = nodes;
        _pooling = pooling;
        _options = new ClientConnectionOptions { Transport = new TransportOptions { ConnectTimeout = connectTimeout } };
    }

    public string Target => _current?.Address ?? string.Join(",", _nodes);

    public ILocalReads? LocalReads => null;

    public async Task<ClientResponse> SendAsync(ClientRequest request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ClientConnection connection = await CurrentAsync(cancellationToken).ConfigureAwait(false);
        ClientResponse response;
        try
        {
            response = await connection.SendAsync(request, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (RaftSqlException ex) when (ex.Code is RaftSqlErrorCode.Unavailable or RaftSqlErrorCode.Timeout && MayWrite(request))
        {
            throw new RaftSqlException(RaftSqlErrorCode.OutcomeUnknown,
                $"{ex.Message} The command was in flight: if it wrote, the write may or may not have been applied.", ex);
        }
        if (response.ResponseCase == ClientResponse.ResponseOneofCase.Error && response.Error.Code == (int)RaftSqlErrorCode.NodeStopped)
        {
            // That node is going away: the next request connects to another one.
            await AbandonAsync().ConfigureAwait(false);
            RaftSqlException stopped = ClientErrors.ToException(response.Error);
            throw MayWrite(request)
                ? new RaftSqlException(RaftSqlErrorCode.OutcomeUnknown,
                    $"{connection.Address} stopped while the command was in flight: if it wrote, the write may or may not have been applied.", stopped)
                : stopped;
        }
        return response.ThrowIfError();
    }

    public async ValueTask AbandonAsync()
    {
        if (_current is { } current)
        {
            _current = null;
            await current.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Whether a request that got no answer may have changed the database.</summary>
    private static bool MayWrite(ClientRequest request) => request.RequestCase switch
    {
        ClientRequest.RequestOneofCase.Query => request.Query.AllowWrite,
        ClientRequest.RequestOneofCase.Execute or ClientRequest.RequestOneofCase.Commit => true,
        _ => false,
    };

    public async Task MoveToLeaderAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            ClientConnection connection = await CurrentAsync(cancellationToken).ConfigureAwait(false);
            ClientResponse answer = await SendAsync(new ClientRequest { GetLeader = new GetLeaderRequest() }, timeout, cancellationToken)
                .ConfigureAwait(false);
            Protocol.NodeInfo? leader = answer.Leader?.Node;
            if (leader is not null && leader.Id == connection.ServerNodeId)
                return;
            if (leader is not null)
            {
                ClientConnection toLeader = await ConnectAsync(leader.Address, cancellationToken).ConfigureAwait(false);
                await ReleaseCurrentAsync().ConfigureAwait(false);
                _current = toLeader;
                return;
            }
            if (DateTime.UtcNow > deadline)
                throw new RaftSqlException(RaftSqlErrorCode.NoLeader, $"{connection.Address} knows of no leader; the cluster may be electing one or cut off.");
            await Task.Delay(LeaderPoll, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync() => await ReleaseCurrentAsync().ConfigureAwait(false);

    private async ValueTask<ClientConnection> CurrentAsync(CancellationToken cancellationToken)
    {
        if (_current is { IsOpen: true } current)
            return current;
        await ReleaseCurrentAsync().ConfigureAwait(false);

        var failures = new List<string>();
        foreach (string address in _nodes)
        {
            try
            {
                _current = await ConnectAsync(address, cancellationToken).ConfigureAwait(false);
                return _current;
            }
            catch (RaftSqlException ex) when (ex.Code == RaftSqlErrorCode.Unavailable)
            {
                failures.Add(ex.Message); // skip a node that cannot be reached
            }
        }
        throw new RaftSqlException(RaftSqlErrorCode.Unavailable, "No node could be reached: " + string.Join(" ", failures));
    }

    private async Task<ClientConnection> ConnectAsync(string address, CancellationToken cancellationToken)
    {
        if (_pooling && ConnectionPool.TryRent(address) is { } pooled)
            return pooled;
        return await ClientConnection.ConnectAsync(address, _options, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask ReleaseCurrentAsync()
    {
        if (_current is not { } current)
            return;
        _current = null;
        if (_pooling)
            await ConnectionPool.ReturnAsync(current).ConfigureAwait(false);
        else
            await current.DisposeAsync().ConfigureAwait(false);
    }
}
