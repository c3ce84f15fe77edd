using RaftSql.Gateway;
using RaftSql.Hosting;
using RaftSql.Protocol;
using RaftSql.Transport;

namespace RaftSql;

/// <summary>
/// Talks to a cluster over TCP given some of its nodes' addresses: finds the leader, administers the
/// membership, and runs statements. Requests that must run on the leader are sent there, following
/// the nodes' leader hints; ones that may not have run are never retried.
/// </summary>
public sealed class ClusterClient : IAsyncDisposable
{
    private readonly IReadOnlyList<string> _addresses;
    private readonly TimeSpan _timeout;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, ClientConnection> _connections = [];

    /// <param name="addresses">"host:port" of one or more nodes.</param>
    /// <param name="timeout">How long one call may take, including waiting for a leader. Default 15 s.</param>
    public ClusterClient(IEnumerable<string> addresses, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        _addresses = [.. addresses.Where(a => !string.IsNullOrWhiteSpace(a)).Select(a => a.Trim())];
        if (_addresses.Count == 0)
            throw new ArgumentException("At least one node address is required.", nameof(addresses));
        foreach (var address in _addresses)
            NodeAddress.Parse(address);
        _timeout = timeout ?? TimeSpan.FromSeconds(15);
    }

    /// <summary>The current leader, or null while there is none. A node's opinion is checked with the
    /// node it names (a spare, or a node cut off, may still name a former leader).</summary>
    public async Task<NodeInfo?> GetLeaderAsync(CancellationToken cancellationToken = default)
    {
        RaftSqlException? last = null;
        var answered = false;
        foreach (var address in _addresses)
        {
            try
            {
                var claimed = await AskLeaderAsync(address, cancellationToken).ConfigureAwait(false);
                answered = true;
                if (claimed is null)
                    continue;
                if (claimed.Address == address || (await AskLeaderAsync(claimed.Address, cancellationToken).ConfigureAwait(false))?.Id == claimed.Id)
                    return claimed;
            }
            catch (RaftSqlException ex) when (ex.Code is RaftSqlErrorCode.Unavailable or RaftSqlErrorCode.NodeStopped or RaftSqlErrorCode.Timeout)
            {
                last = ex;
            }
        }
        // No node answered at all: that is not "no leader", it is an unreachable cluster.
        return answered || last is null ? null : throw last;
    }

    private async Task<NodeInfo?> AskLeaderAsync(string address, CancellationToken cancellationToken)
    {
        var response = await SendAsync(address, new ClientRequest { GetLeader = new GetLeaderRequest() }, cancellationToken).ConfigureAwait(false);
        Expect(response, ClientResponse.ResponseOneofCase.Leader);
        return response.Leader.Node is { } node ? WireMapper.FromWire(node) : null;
    }

    /// <summary>Every member: id, address, role, and whether it leads. Asked of the leader when there is one.</summary>
    public async Task<IReadOnlyList<ClusterMember>> GetClusterAsync(CancellationToken cancellationToken = default)
    {
        var request = new ClientRequest { GetCluster = new GetClusterRequest() };
        var leader = await GetLeaderAsync(cancellationToken).ConfigureAwait(false);
        var response = leader is null
            ? await SendToAnyAsync(request, cancellationToken).ConfigureAwait(false)
            : await SendAsync(leader.Address, request, cancellationToken).ConfigureAwait(false);
        Expect(response, ClientResponse.ResponseOneofCase.Cluster);
        return [.. response.Cluster.Nodes.Select(n => new ClusterMember(n.Id, n.Address, WireMapper.FromWire(n.Role), n.IsLeader))];
    }

    /// <summary>Adds node <paramref name="id"/> (a node started with no initial cluster). As a standby it
    /// catches up and is promoted to voter automatically.</summary>
    public Task AddAsync(ulong id, string address, NodeRole role = NodeRole.Standby, CancellationToken cancellationToken = default)
    {
        NodeAddress.Parse(address);
        return OnLeaderAsync(new ClientRequest { AddNode = new AddNodeRequest { Id = id, Address = address, Role = WireMapper.ToWire(role) } }, cancellationToken);
    }

    /// <summary>Changes the role of member <paramref name="id"/>.</summary>
    public Task AssignAsync(ulong id, NodeRole role, CancellationToken cancellationToken = default) =>
        OnLeaderAsync(new ClientRequest { AssignRole = new AssignRoleRequest { Id = id, Role = WireMapper.ToWire(role) } }, cancellationToken);

    /// <summary>Removes member <paramref name="id"/> (the leader too: it steps down once the change commits).</summary>
    public Task RemoveAsync(ulong id, CancellationToken cancellationToken = default) =>
        OnLeaderAsync(new ClientRequest { RemoveNode = new RemoveNodeRequest { Id = id } }, cancellationToken);

    /// <summary>Hands leadership to voter <paramref name="id"/> and waits until it leads.</summary>
    public Task TransferLeadershipAsync(ulong id, CancellationToken cancellationToken = default) =>
        OnLeaderAsync(new ClientRequest { TransferLeadership = new TransferLeadershipRequest { TargetId = id } }, cancellationToken);

    /// <summary>Runs a writing statement on the leader.</summary>
    public async Task<ExecuteResult> ExecuteAsync(string database, string sql,
        IReadOnlyDictionary<string, object?>? parameters = null, CancellationToken cancellationToken = default)
    {
        var request = new ClientRequest { Execute = new ExecuteRequest { Database = database, Sql = sql } };
        if (parameters is not null)
            request.Execute.Parameters.AddRange(parameters.Select(p => SqlValues.ToWireParameter(p.Key, p.Value)));
        var response = await SendToLeaderAsync(request, cancellationToken).ConfigureAwait(false);
        Expect(response, ClientResponse.ResponseOneofCase.ExecuteResult);
        var r = response.ExecuteResult;
        return new ExecuteResult(r.RowsAffected, r.LastInsertRowid, r.RaftIndex);
    }

    /// <summary>Runs a query on the first reachable node (Local, Session) or through it (Lease, Linearizable).</summary>
    public async Task<QueryResult> QueryAsync(string database, string sql,
        IReadOnlyDictionary<string, object?>? parameters = null, ReadConsistency consistency = ReadConsistency.Linearizable,
        CancellationToken cancellationToken = default)
    {
        var request = new ClientRequest
        {
            Query = new QueryRequest { Database = database, Sql = sql, Consistency = WireMapper.ToWire(consistency) },
        };
        if (parameters is not null)
            request.Query.Parameters.AddRange(parameters.Select(p => SqlValues.ToWireParameter(p.Key, p.Value)));
        var (address, response) = await SendToAnyWithAddressAsync(request, cancellationToken).ConfigureAwait(false);
        var columns = new List<string>();
        var rows = new List<object[]>();
        while (true)
        {
            Expect(response, ClientResponse.ResponseOneofCase.RowPage);
            var page = response.RowPage;
            if (columns.Count == 0)
                columns.AddRange(page.Columns.Select(c => c.Name));
            rows.AddRange(page.Rows.Select(r => r.Values.Select(SqlValues.FromWire).ToArray()));
            if (page.Done)
                return new QueryResult(columns, rows);
            response = await SendAsync(address, new ClientRequest { FetchPage = new FetchPageRequest { CursorId = page.CursorId } }, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Copies node <paramref name="nodeAddress"/>'s database as one SQLite file to <paramref name="path"/>.</summary>
    public async Task DumpAsync(string nodeAddress, string database, string path, CancellationToken cancellationToken = default)
    {
        var temp = path + ".part";
        await using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            ulong dumpId = 0, offset = 0;
            while (true)
            {
                var response = await SendAsync(nodeAddress,
                    new ClientRequest { Dump = new DumpRequest { Database = database, DumpId = dumpId, Offset = offset } },
                    cancellationToken).ConfigureAwait(false);
                Expect(response, ClientResponse.ResponseOneofCase.DumpChunk);
                var chunk = response.DumpChunk;
                await file.WriteAsync(chunk.Data.Memory, cancellationToken).ConfigureAwait(false);
                dumpId = chunk.DumpId;
                offset += (ulong)chunk.Data.Length;
                if (chunk.Done)
                    break;
            }
        }
        File.Move(temp, path, overwrite: true);
    }

    // ---- plumbing -------------------------------------------------------------------------------------

    private async Task OnLeaderAsync(ClientRequest request, CancellationToken cancellationToken)
    {
        var response = await SendToLeaderAsync(request, cancellationToken).ConfigureAwait(false);
        Expect(response, ClientResponse.ResponseOneofCase.Ack);
    }

    /// <summary>Sends to the leader, following hints; retries only answers that say the request did not run.</summary>
    private async Task<ClientResponse> SendToLeaderAsync(ClientRequest request, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + _timeout;
        string? target = null;
        while (true)
        {
            target ??= (await GetLeaderAsync(cancellationToken).ConfigureAwait(false))?.Address;
            ClientConnection? connection = null;
            if (target is not null)
            {
                try
                {
                    connection = await ConnectAsync(target, cancellationToken).ConfigureAwait(false);
                }
                catch (RaftSqlException ex) when (ex.Code == RaftSqlErrorCode.Unavailable)
                {
                    target = null; // nothing was sent: ask again who leads
                }
            }
            if (connection is not null)
            {
                ClientResponse response;
                try
                {
                    response = await connection.SendAsync(request.Clone(), _timeout, cancellationToken).ConfigureAwait(false);
                }
                catch (RaftSqlException ex) when (request.RequestCase == ClientRequest.RequestOneofCase.Execute
                    && ex.Code is RaftSqlErrorCode.Unavailable or RaftSqlErrorCode.Timeout)
                {
                    throw new RaftSqlException(RaftSqlErrorCode.OutcomeUnknown,
                        "The connection to the leader failed while the write was in flight; it may or may not have been applied.", ex);
                }
                if (response.ResponseCase != ClientResponse.ResponseOneofCase.Error)
                    return response;
                var code = (RaftSqlErrorCode)response.Error.Code;
                if (code is not (RaftSqlErrorCode.NotLeader or RaftSqlErrorCode.NoLeader))
                    throw WireMapper.Unexpected(response);
                target = response.Error.LeaderHint?.Address is { Length: > 0 } hint ? hint : null;
            }
            if (DateTime.UtcNow > deadline)
                throw new RaftSqlException(RaftSqlErrorCode.NoLeader, "No leader could be found within the time limit.");
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<ClientResponse> SendToAnyAsync(ClientRequest request, CancellationToken cancellationToken) =>
        (await SendToAnyWithAddressAsync(request, cancellationToken).ConfigureAwait(false)).Response;

    /// <summary>Tries the nodes in order until one answers (a node that cannot be reached is skipped).</summary>
    private async Task<(string Address, ClientResponse Response)> SendToAnyWithAddressAsync(ClientRequest request, CancellationToken cancellationToken)
    {
        RaftSqlException? last = null;
        foreach (var address in _addresses)
        {
            try
            {
                var response = await SendAsync(address, request.Clone(), cancellationToken).ConfigureAwait(false);
                if (response.ResponseCase == ClientResponse.ResponseOneofCase.Error)
                    throw WireMapper.Unexpected(response);
                return (address, response);
            }
            catch (RaftSqlException ex) when (ex.Code is RaftSqlErrorCode.Unavailable or RaftSqlErrorCode.NodeStopped)
            {
                last = ex;
            }
        }
        throw last ?? new RaftSqlException(RaftSqlErrorCode.Unavailable, "No node could be reached.");
    }

    private async Task<ClientResponse> SendAsync(string address, ClientRequest request, CancellationToken cancellationToken)
    {
        var connection = await ConnectAsync(address, cancellationToken).ConfigureAwait(false);
        return await connection.SendAsync(request, _timeout, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ClientConnection> ConnectAsync(string address, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connections.TryGetValue(address, out var existing))
            {
                if (existing.IsOpen)
                    return existing;
                await existing.DisposeAsync().ConfigureAwait(false);
                _connections.Remove(address);
            }
            var connection = await ClientConnection.ConnectAsync(address, new ClientConnectionOptions { DefaultTimeout = _timeout },
                cancellationToken: cancellationToken).ConfigureAwait(false);
            _connections[address] = connection;
            return connection;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static void Expect(ClientResponse response, ClientResponse.ResponseOneofCase expected)
    {
        if (response.ResponseCase != expected)
            throw WireMapper.Unexpected(response);
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var connection in _connections.Values)
                await connection.DisposeAsync().ConfigureAwait(false);
            _connections.Clear();
        }
        finally
        {
            _gate.Release();
        }
    }
}
