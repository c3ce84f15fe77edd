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
    private const int DefaultPageRows = 512;
    private const int DumpChunkBytes = 1024 * 1024;

    private readonly Connection _connection;
    private readonly NodeServices _services;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<ulong, Cursor> _cursors = new();
    private readonly ConcurrentDictionary<ulong, string> _dumps = new();
    private long _nextId;

    public ClientSession(Connection connection, NodeServices services, ILogger logger)
    {
        _connection = connection;
        _services = services;
        _logger = logger;
    }

    public static async Task ServeAsync(Connection connection, NodeServices services, ILogger logger, CancellationToken stopping)
    {
        await using var session = new ClientSession(connection, services, logger);
        await ClientRequestLoop.ServeAsync(connection, session.AnswerAsync, logger, stopping).ConfigureAwait(false);
    }

    private async Task<ClientResponse> AnswerAsync(ClientRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await HandleAsync(request, cancellationToken).ConfigureAwait(false);
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

    private async Task<ClientResponse> HandleAsync(ClientRequest request, CancellationToken ct)
    {
        var router = _services.Router;
        switch (request.RequestCase)
        {
            case ClientRequest.RequestOneofCase.OpenDatabase:
                if (!_services.Databases.Exists(request.OpenDatabase.Database))
                    await router.ExecuteAsync(request.OpenDatabase.Database, "SELECT 1", [], ct).ConfigureAwait(false);
                return new ClientResponse { Ack = new Ack() };

            case ClientRequest.RequestOneofCase.Execute:
                var execute = request.Execute;
                RejectTransaction(execute.TransactionId);
                var result = await router.ExecuteAsync(execute.Database, execute.Sql, execute.Parameters, ct).ConfigureAwait(false);
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
                return new ClientResponse { RowPage = NextPage(cursor, request.FetchPage.PageSize) };

            case ClientRequest.RequestOneofCase.CloseCursor:
                if (_cursors.TryRemove(request.CloseCursor.CursorId, out var closing))
                    closing.Dispose();
                return new ClientResponse { Ack = new Ack() };

            case ClientRequest.RequestOneofCase.Begin:
            case ClientRequest.RequestOneofCase.Commit:
            case ClientRequest.RequestOneofCase.Rollback:
                RejectTransaction(1);
                break;

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

    private static void RejectTransaction(ulong transactionId)
    {
        if (transactionId != 0)
            throw new RaftSqlException(RaftSqlErrorCode.ProtocolError,
                "Interactive transactions are not supported by this node version; send the transaction as one statement text.");
    }

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
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(_services.Options.RequestTimeout);
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
        RejectTransaction(query.TransactionId);
        var consistency = WireMapper.FromWire(query.Consistency);
        var router = _services.Router;
        if (!await router.PrepareLocalReadAsync(query.Database, consistency, query.MinIndex, ct).ConfigureAwait(false))
        {
            var whole = await router.QueryAsync(query.Database, query.Sql, query.Parameters, consistency, query.MinIndex, ct).ConfigureAwait(false);
            return new ClientResponse { RowPage = WholePage(whole) };
        }
        var applied = _services.Host.Status.Applied;
        var cursor = await Task.Run(() => Cursor.Open(_services.Databases, query, applied), ct).ConfigureAwait(false);
        var page = NextPage(cursor, query.PageSize);
        if (!page.Done)
        {
            var id = (ulong)Interlocked.Increment(ref _nextId);
            cursor.PageSize = query.PageSize;
            _cursors[id] = cursor;
            page.CursorId = id;
        }
        return new ClientResponse { RowPage = page };
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

    private RowPage NextPage(Cursor cursor, uint pageSize)
    {
        var rows = (int)(pageSize != 0 ? pageSize : cursor.PageSize != 0 ? cursor.PageSize : DefaultPageRows);
        lock (cursor)
        {
            var page = cursor.Read(rows);
            if (page.Done)
            {
                foreach (var (id, c) in _cursors)
                {
                    if (ReferenceEquals(c, cursor))
                        _cursors.TryRemove(id, out _);
                }
                cursor.Dispose();
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
            await Task.Run(() => _services.Databases.DumpTo(request.Database, path), ct).ConfigureAwait(false);
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
        foreach (var cursor in _cursors.Values)
            cursor.Dispose();
        _cursors.Clear();
        foreach (var path in _dumps.Values)
            File.Delete(path);
        _dumps.Clear();
    }

    /// <summary>An open reader on a pooled connection; pages are read from it on demand.</summary>
    private sealed class Cursor : IDisposable
    {
        private readonly LocalDatabases _databases;
        private readonly string _database;
        private readonly SqliteConnection _connection;
        private readonly SqliteCommand _command;
        private readonly SqliteDataReader _reader;
        private readonly ulong _applied;
        private bool _sentColumns;
        private bool _disposed;

        private Cursor(LocalDatabases databases, string database, SqliteConnection connection, SqliteCommand command,
            SqliteDataReader reader, ulong applied)
        {
            _databases = databases;
            _database = database;
            _connection = connection;
            _command = command;
            _reader = reader;
            _applied = applied;
        }

        public uint PageSize { get; set; }

        public static Cursor Open(LocalDatabases databases, QueryRequest query, ulong applied)
        {
            var connection = databases.RentReader(query.Database);
            SqliteCommand? command = null;
            try
            {
                command = connection.CreateCommand();
                command.CommandText = query.Sql;
                SqlValues.Bind(command, query.Parameters);
                var reader = command.ExecuteReader();
                return new Cursor(databases, query.Database, connection, command, reader, applied);
            }
            catch (SqliteException ex)
            {
                command?.Dispose();
                databases.ReturnReader(query.Database, connection);
                throw ex.ToRaftSqlException();
            }
        }

        public RowPage Read(int maxRows)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var page = new RowPage { AppliedIndex = _applied };
            if (!_sentColumns)
            {
                for (var i = 0; i < _reader.FieldCount; i++)
                    page.Columns.Add(new Column { Name = _reader.GetName(i), DeclaredType = _reader.GetDataTypeName(i) });
                _sentColumns = true;
            }
            try
            {
                while (page.Rows.Count < maxRows)
                {
                    if (!_reader.Read())
                    {
                        page.Done = true;
                        return page;
                    }
                    var row = new Row();
                    foreach (var value in SqlValues.ReadRow(_reader))
                        row.Values.Add(SqlValues.ToWire(value));
                    page.Rows.Add(row);
                }
            }
            catch (SqliteException ex)
            {
                throw ex.ToRaftSqlException();
            }
            return page;
        }

        public void Dispose()
        {
            if (_disposed)
                return;
            _disposed = true;
            _reader.Dispose();
            _command.Dispose();
            _databases.ReturnReader(_database, _connection);
        }
    }
}
