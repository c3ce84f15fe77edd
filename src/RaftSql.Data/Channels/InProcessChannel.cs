using Microsoft.Data.Sqlite;
using RaftSql.Gateway;
using RaftSql.Protocol;
using RaftSql.Transport;

namespace RaftSql.Data.Channels;

/// <summary>
/// Reaches a node hosted in this process by direct calls (no socket, no serialization), and reads its
/// database files directly when the consistency level allows. A transaction begun while another node
/// leads moves the channel to that leader over TCP.
/// </summary>
internal sealed class InProcessChannel : IClusterChannel, ILocalReads
{
    private static readonly Task<ReadPermit> Ready = Task.FromResult(ReadPermit.Granted);

    private readonly Node _node;
    private readonly NodeServices _services;
    private readonly ClientSession _session;
    private readonly TimeSpan _connectTimeout;
    private RemoteChannel? _leader;

    public InProcessChannel(Node node, TimeSpan connectTimeout)
    {
        _node = node;
        _services = node.Services;
        _session = node.CreateSession();
        _connectTimeout = connectTimeout;
    }

    public string Target => _leader?.Target ?? $"in-process node {_node.Id}";

    public ILocalReads? LocalReads => _leader is null ? this : null;

    public async Task<ClientResponse> SendAsync(ClientRequest request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_leader is { } leader)
            return await leader.SendAsync(request, timeout, cancellationToken).ConfigureAwait(false);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            ClientResponse response = await _session.HandleAsync(request, deadline.Token).ConfigureAwait(false);
            return response.ThrowIfError();
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RaftSqlException(RaftSqlErrorCode.Timeout, $"Node {_node.Id} did not answer within {timeout.TotalSeconds:0.#} s.");
        }
    }

    public async Task MoveToLeaderAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_leader is { } leader)
        {
            await leader.MoveToLeaderAsync(timeout, cancellationToken).ConfigureAwait(false);
            return;
        }
        DateTime deadline = DateTime.UtcNow + timeout;
        while (!_node.IsLeader)
        {
            if (_node.LeaderId is { } leaderId && _node.Members.FirstOrDefault(m => m.Id == leaderId) is { } member)
            {
                _leader = new RemoteChannel([member.Address], _connectTimeout, pooling: true);
                await _leader.MoveToLeaderAsync(timeout, cancellationToken).ConfigureAwait(false);
                return;
            }
            if (DateTime.UtcNow > deadline)
                throw new RaftSqlException(RaftSqlErrorCode.NoLeader, $"Node {_node.Id} knows of no leader; the cluster may be electing one or cut off.");
            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken).ConfigureAwait(false);
        }
    }

    public bool IsReadOnly(string database, string sql) => _services.Databases.IsReadOnly(database, sql);

    public Task<ReadPermit> PrepareAsync(string database, ReadConsistency consistency, ulong minIndex, CancellationToken cancellationToken)
    {
        // The common cases need no waiting: answer them without the router's deadline machinery (a node still
        // replaying its log after a restart serves no read before it has caught up, and a node whose Raft loop
        // failed serves Local reads only: the router handles both).
        if (_services.Host.Replayed
            && (consistency == ReadConsistency.Local
                || (consistency == ReadConsistency.Session && _services.Host.Failure is null && _node.AppliedIndex >= minIndex)))
            return Ready;
        return _services.Router.PrepareLocalReadAsync(database, consistency, minIndex, cancellationToken);
    }

    public Task ConfirmLateLeaseReadAsync(string database, CancellationToken cancellationToken) =>
        _services.Router.ConfirmLateLeaseReadAsync(database, cancellationToken);

    public SqliteConnection Rent(string database) => _services.Databases.RentReader(database);

    public void Return(string database, SqliteConnection connection) => _services.Databases.ReturnReader(database, connection);

    public Task WhenVisibleCommitted(SqliteConnection connection) => _services.Databases.WhenVisibleCommitted(connection);

    public async ValueTask AbandonAsync()
    {
        if (_leader is { } leader)
            await leader.AbandonAsync().ConfigureAwait(false);
        await _session.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_leader is { } leader)
            await leader.DisposeAsync().ConfigureAwait(false);
        await _session.DisposeAsync().ConfigureAwait(false);
    }
}
