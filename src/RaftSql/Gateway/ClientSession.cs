using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using RaftSql.Hosting;
using RaftSql.Protocol;
using RaftSql.Raft;
using RaftSql.Sqlite;
using RaftSql.Transport;
using Member = RaftSql.Raft.Member;

namespace RaftSql.Gateway;

/// <summary>
/// Serves one client connection: requests run concurrently and are answered by request id. Open
/// cursors and dumps belong to the connection and are released when it closes.
/// </summary>
internal sealed class ClientSession : IAsyncDisposable
{
    private const int DumpChunkBytes = 1024 * 1024;

    private readonly NodeServices _services;
    private readonly ConcurrentDictionary<ulong, IRowCursor> _cursors = new();
    private readonly ConcurrentDictionary<ulong, WriteTransaction> _transactions = new();
    private readonly ConcurrentDictionary<ulong, string> _dumps = new();
    private long _nextId;

    /// <summary>A session serves one client: over TCP (<see cref="ServeAsync"/>) or in process.</summary>
    public ClientSession(NodeServices services)
    {
        _services = services;
    }

    public static async Task ServeAsync(Connection connection, NodeServices services, ILogger logger, CancellationToken stopping)
    {
        await using var session = new ClientSession(services);
        await ClientRequestLoop.ServeAsync(connection, session.HandleAsync, logger, stopping).ConfigureAwait(false);
    }

    /// <summary>Answers one request. Errors a client can act on come back as Error responses or typed exceptions.</summary>
    public async Task<ClientResponse> HandleAsync(ClientRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await DispatchAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (RaftSqlException ex) when (ex.Code == RaftSqlErrorCode.NotLeader)
        {
            return new ClientResponse { Error = ClientErrors.ToError(ex, LeaderHint()) };
        }
        catch (ArgumentException ex)
        {
            throw new RaftSqlException(RaftSqlErrorCode.ProtocolError, ex.Message, ex);
        }
    }

    private Protocol.NodeInfo? LeaderHint()
    {
        var status = _services.Host.Status;
        var leader = status.Membership.Find(status.LeaderId);
        return leader is null ? null : WireMapper.ToWire(new RaftSql.NodeInfo(leader.Id, leader.Address, WireMapper.ToNodeRole(leader.Role)), true);
    }

    private async Task<ClientResponse> DispatchAsync(ClientRequest request, CancellationToken ct)
    {
        var router = _services.Router;
        switch (request.RequestCase)
        {
            case ClientRequest.RequestOneofCase.OpenDatabase:
                await EnsureDatabaseAsync(request.OpenDatabase.Database, ct).ConfigureAwait(false);
                return new ClientResponse { Ack = new Ack() };

            case ClientRequest.RequestOneofCase.Execute:
                var execute = request.Execute;
                var result = execute.TransactionId != 0
                    ? await ExecuteInTransactionAsync(execute, ct).ConfigureAwait(false)
                    : await router.ExecuteAsync(execute.Database, execute.Sql, execute.Parameters, ct).ConfigureAwait(false);
                return new ClientResponse
                {
                    ExecuteResult = new Protocol.ExecuteResult
                    {
                        RowsAffected = result.RowsAffected,
                        LastInsertRowid = result.LastInsertRowId,
                        RaftIndex = result.RaftIndex,
                    },
                };

            case ClientRequest.RequestOneofCase.Query:
                return await QueryAsync(request.Query, ct).ConfigureAwait(false);

            case ClientRequest.RequestOneofCase.FetchPage:
                if (!_cursors.TryGetValue(request.FetchPage.CursorId, out var cursor))
                    throw new RaftSqlException(RaftSqlErrorCode.ProtocolError, $"Unknown cursor {request.FetchPage.CursorId}.");
                return new ClientResponse { RowPage = await NextPageAsync(request.FetchPage.CursorId, cursor, request.FetchPage.PageSize, ct).ConfigureAwait(false) };

            case ClientRequest.RequestOneofCase.CloseCursor:
                if (_cursors.TryRemove(request.CloseCursor.CursorId, out var closing))
                    closing.Dispose();
                return new ClientResponse { Ack = new Ack() };

            case ClientRequest.RequestOneofCase.Begin:
                EnsureLeader();
                RequestRouter.ValidateDatabaseName(request.Begin.Database);
                await EnsureDatabaseAsync(request.Begin.Database, ct).ConfigureAwait(false);
                var transaction = await _services.Databases.BeginAsync(request.Begin.Database, _services.Options.CommitTimeout, ct).ConfigureAwait(false);
                var transactionId = (ulong)Interlocked.Increment(ref _nextId);
                _transactions[transactionId] = transaction;
                return new ClientResponse { TransactionStarted = new TransactionStarted { TransactionId = transactionId } };

            case ClientRequest.RequestOneofCase.Commit:
                var committing = TakeTransaction(request.Commit.TransactionId);
                var index = await _services.Databases.CommitAsync(committing, ct).ConfigureAwait(false);
                return new ClientResponse { CommitResult = new CommitResult { RaftIndex = index } };

            case ClientRequest.RequestOneofCase.Rollback:
                await _services.Databases.RollbackAsync(TakeTransaction(request.Rollback.TransactionId)).ConfigureAwait(false);
                return new ClientResponse { Ack = new Ack() };

            case ClientRequest.RequestOneofCase.GetLeader:
                return new ClientResponse { Leader = new Leader { Node = CurrentLeader() } };

            case ClientRequest.RequestOneofCase.GetCluster:
                var cluster = new Cluster();
                cluster.Nodes.AddRange(_services.Members());
                return new ClientResponse { Cluster = cluster };

            case ClientRequest.RequestOneofCase.AddNode:
                var add = request.AddNode;
                await ChangeMembershipAsync(ConfChange.AddOrUpdate(new Member(add.Id, WireMapper.ToMemberRole(WireMapper.FromWire(add.Role)), add.Address)), ct).ConfigureAwait(false);
                return new ClientResponse { Ack = new Ack() };

            case ClientRequest.RequestOneofCase.AssignRole:
                var assign = request.AssignRole;
                var member = _services.Host.Status.Membership.Find(assign.Id)
                    ?? throw new RaftSqlException(RaftSqlErrorCode.MembershipChangeRejected, $"Node {assign.Id} is not a member.");
                await ChangeMembershipAsync(ConfChange.AddOrUpdate(member with { Role = WireMapper.ToMemberRole(WireMapper.FromWire(assign.Role)) }), ct).ConfigureAwait(false);
                return new ClientResponse { Ack = new Ack() };

            case ClientRequest.RequestOneofCase.RemoveNode:
                await ChangeMembershipAsync(ConfChange.Remove(request.RemoveNode.Id), ct).ConfigureAwait(false);
                return new ClientResponse { Ack = new Ack() };

            case ClientRequest.RequestOneofCase.TransferLeadership:
                EnsureLeader();
                await _services.TransferLeadershipAsync(request.TransferLeadership.TargetId, ct).ConfigureAwait(false);
                return new ClientResponse { Ack = new Ack() };

            case ClientRequest.RequestOneofCase.Describe:
                return new ClientResponse { Description = _services.Describe() };

            case ClientRequest.RequestOneofCase.Dump:
                return new ClientResponse { DumpChunk = await DumpAsync(request.Dump, ct).ConfigureAwait(false) };
        }
        throw new RaftSqlException(RaftSqlErrorCode.ProtocolError, $"Unsupported request {request.RequestCase}.");
    }

    /// <summary>Creates the database where it does not exist yet: the leader's first connection to a new
    /// database writes its first page, which replicates like any other write.</summary>
    private async Task EnsureDatabaseAsync(string database, CancellationToken ct)
    {
        if (!_services.Databases.Exists(database))
            await _services.Router.ExecuteAsync(database, "SELECT 1", [], ct).ConfigureAwait(false);
    }

    private WriteTransaction FindTransaction(ulong id) =>
        _transactions.TryGetValue(id, out var transaction)
            ? transaction
            : throw new RaftSqlException(RaftSqlErrorCode.ProtocolError, $"Unknown transaction {id} (it may have ended).");

    private WriteTransaction TakeTransaction(ulong id) =>
        _transactions.TryRemove(id, out var transaction)
            ? transaction
            : throw new RaftSqlException(RaftSqlErrorCode.ProtocolError, $"Unknown transaction {id} (it may have ended).");

    private Task<ExecuteResult> ExecuteInTransactionAsync(ExecuteRequest execute, CancellationToken ct) =>
        _services.Databases.RunInTransactionAsync(FindTransaction(execute.TransactionId), connection =>
        {
            var command = StatementCache.Get(connection, execute.Sql);
            SqlValues.Rebind(command, execute.Parameters);
            var rows = command.ExecuteNonQuery();
            return new ExecuteResult(rows, SQLitePCL.raw.sqlite3_last_insert_rowid(connection.Handle), 0);
        }, ct);

    private Protocol.NodeInfo? CurrentLeader()
    {
        var status = _services.Host.Status;
        var leader = status.Membership.Find(status.LeaderId);
        return leader is null ? null : WireMapper.ToWire(new RaftSql.NodeInfo(leader.Id, leader.Address, WireMapper.ToNodeRole(leader.Role)), true);
    }

    private void EnsureLeader()
    {
        var status = _services.Host.Status;
        if (!status.IsLeader)
        {
            throw status.LeaderId == 0
                ? new RaftSqlException(RaftSqlErrorCode.NoLeader, "No leader is known.")
                : new RaftSqlException(RaftSqlErrorCode.NotLeader, $"Node {status.LeaderId} is the leader.");
        }
    }

    private async Task ChangeMembershipAsync(ConfChange change, CancellationToken ct)
    {
        EnsureLeader();
        // The node's clock, not CancelAfter's real time: the simulator runs this on virtual time.
        using var deadline = new Deadline(_services.Options.Runtime.Time, _services.Options.RequestTimeout, ct);
        try
        {
            await _services.Host.ChangeMembershipAsync(change, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new RaftSqlException(RaftSqlErrorCode.Timeout, "The membership change did not complete in time.");
        }
    }

    // ---- queries with cursors ----------------------------------------------------------------------

    private async Task<ClientResponse> QueryAsync(QueryRequest query, CancellationToken ct)
    {
        var databases = _services.Databases;
        var router = _services.Router;
        if (query.TransactionId != 0)
        {
            var pages = await databases.RunInTransactionAsync(FindTransaction(query.TransactionId),
                connection => ResultPages.ReadAll(connection, query.Sql, query.Parameters, PageRows(query.PageSize)), ct).ConfigureAwait(false);
            pages[^1].RaftIndex = 0; // the index comes with the commit
            return new ClientResponse { RowPage = Serve(pages) };
        }
        RequestRouter.ValidateDatabaseName(query.Database);
        if (query.AllowWrite && !databases.IsReadOnly(query.Database, query.Sql))
        {
            var pages = await router.RunWritingStatementsAsync(query, ct).ConfigureAwait(false);
            return new ClientResponse { RowPage = Serve(pages) };
        }
        var consistency = WireMapper.FromWire(query.Consistency);
        var permit = await router.PrepareLocalReadAsync(query.Database, consistency, query.MinIndex, ct).ConfigureAwait(false);
        if (!permit.Here)
        {
            var whole = await router.ForwardQueryAsync(query.Database, query.Sql, query.Parameters, consistency, ct).ConfigureAwait(false);
            return new ClientResponse { RowPage = WholePage(whole) };
        }
        var (id, page) = await OpenCursorAsync(query, ct).ConfigureAwait(false);
        if (permit.StillHolds)
            return new ClientResponse { RowPage = page };
        // The lease ran out while the first page was read: it must not leave as a lease read. Confirm with a
        // ReadIndex round and read again.
        if (_cursors.TryRemove(id, out var late))
            late.Dispose();
        await router.ConfirmLateLeaseReadAsync(query.Database, ct).ConfigureAwait(false);
        (_, page) = await OpenCursorAsync(query, ct).ConfigureAwait(false);
        return new ClientResponse { RowPage = page };
    }

    private async Task<(ulong Id, RowPage FirstPage)> OpenCursorAsync(QueryRequest query, CancellationToken ct)
    {
        var databases = _services.Databases;
        var applied = _services.Host.Status.Applied;
        var cursor = await _services.Options.Runtime.Run(() => ReaderCursor.Open(databases, query.Database, query.Sql, query.Parameters, applied), ct).ConfigureAwait(false);
        var id = (ulong)Interlocked.Increment(ref _nextId);
        _cursors[id] = cursor;
        return (id, await NextPageAsync(id, cursor, query.PageSize, ct).ConfigureAwait(false));
    }

    private static int PageRows(uint requested) => requested is > 0 and <= 100_000 ? (int)requested : ResultPages.DefaultRows;

    /// <summary>Returns the first of <paramref name="pages"/>, keeping the rest for FetchPage.</summary>
    private RowPage Serve(List<RowPage> pages)
    {
        var first = pages[0];
        if (!first.Done)
        {
            var id = (ulong)Interlocked.Increment(ref _nextId);
            _cursors[id] = new PageListCursor(pages, 1);
            foreach (var page in pages)
                page.CursorId = page.Done ? 0 : id;
        }
        return first;
    }

    private static RowPage WholePage(QueryResult result)
    {
        var page = new RowPage { Done = true };
        page.Columns.AddRange(result.Columns.Select(c => new Column { Name = c }));
        foreach (var row in result.Rows)
        {
            var wire = new Row();
            wire.Values.AddRange(row.Select(SqlValues.ToWire));
            page.Rows.Add(wire);
        }
        return page;
    }

    /// <summary>The next page, released once everything it was read from is committed.</summary>
    private async Task<RowPage> NextPageAsync(ulong id, IRowCursor cursor, uint pageSize, CancellationToken ct)
    {
        Task visible;
        RowPage page;
        lock (cursor)
        {
            page = NextPage(id, cursor, pageSize);
            visible = cursor.Visible;
        }
        await visible.WaitAsync(ct).ConfigureAwait(false);
        return page;
    }

    private RowPage NextPage(ulong id, IRowCursor cursor, uint pageSize)
    {
        lock (cursor)
        {
            var page = cursor.Next(PageRows(pageSize));
            if (page.Done)
            {
                _cursors.TryRemove(id, out _);
                cursor.Dispose();
                page.CursorId = 0;
            }
            else
            {
                page.CursorId = id;
            }
            return page;
        }
    }

    // ---- dumps --------------------------------------------------------------------------------------

    private async Task<DumpChunk> DumpAsync(DumpRequest request, CancellationToken ct)
    {
        string path;
        var dumpId = request.DumpId;
        if (dumpId == 0)
        {
            dumpId = (ulong)Interlocked.Increment(ref _nextId);
            path = Path.Combine(_services.Options.DataDirectory, "snapshots", $"dump-{Guid.NewGuid():N}.tmp");
            try
            {
                await _services.Router.WaitForReplayAsync(ct).ConfigureAwait(false);
                // Completes once everything the dump read is committed.
                await Task.Run(() => _services.Databases.DumpTo(request.Database, path), ct).ConfigureAwait(false);
            }
            catch
            {
                File.Delete(path);
                throw;
            }
            _dumps[dumpId] = path;
        }
        else if (!_dumps.TryGetValue(dumpId, out path!))
        {
            throw new RaftSqlException(RaftSqlErrorCode.ProtocolError, $"Unknown dump {dumpId}.");
        }
        var max = request.MaxBytes is > 0 and < DumpChunkBytes * 16 ? (int)request.MaxBytes : DumpChunkBytes;
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        file.Position = (long)request.Offset;
        var buffer = new byte[(int)Math.Min(max, Math.Max(0, file.Length - file.Position))];
        await file.ReadExactlyAsync(buffer, ct).ConfigureAwait(false);
        var done = file.Position >= file.Length;
        var chunk = new DumpChunk
        {
            DumpId = dumpId,
            Offset = request.Offset,
            Data = ByteString.CopyFrom(buffer),
            TotalSize = (ulong)file.Length,
            Done = done,
        };
        if (done && _dumps.TryRemove(dumpId, out _))
        {
            await file.DisposeAsync().ConfigureAwait(false);
            File.Delete(path);
        }
        return chunk;
    }

    public async ValueTask DisposeAsync()
    {
        // A client that went away mid-transaction: roll it back on the leader.
        foreach (var id in _transactions.Keys)
        {
            if (_transactions.TryRemove(id, out var transaction))
                await _services.Databases.RollbackAsync(transaction).ConfigureAwait(false);
        }
        foreach (var cursor in _cursors.Values)
            cursor.Dispose();
        _cursors.Clear();
        foreach (var path in _dumps.Values)
            File.Delete(path);
        _dumps.Clear();
    }
}
