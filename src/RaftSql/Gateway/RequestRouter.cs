using System.Diagnostics;
using RaftSql.Hosting;
using RaftSql.Protocol;
using RaftSql.Transport;

namespace RaftSql.Gateway;

/// <summary>
/// Decides where a request runs: writes on the leader (here, or forwarded), reads here once the
/// chosen consistency level is satisfied. Retries only what is safe to retry: a write is resent
/// only when it is known not to have run.
/// </summary>
internal sealed class RequestRouter
{
    private readonly RaftHost _host;
    private readonly LocalDatabases _databases;
    private readonly ILeaderLink _leader;
    private readonly NodeOptions _options;
    private readonly TimeProvider _time;

    public RequestRouter(RaftHost host, LocalDatabases databases, ILeaderLink leader, NodeOptions options)
    {
        _host = host;
        _databases = databases;
        _leader = leader;
        _options = options;
        _time = options.Runtime.Time;
    }

    /// <summary>How long a request waits for a leader before it is refused with NoLeader: long enough for
    /// an election (failover), short enough that a node cut off from the majority answers promptly.</summary>
    private TimeSpan LeaderWait => _options.ElectionTimeout + _options.HeartbeatInterval * 2;

    public Task<ExecuteResult> ExecuteAsync(string database, string sql, IReadOnlyList<Parameter> parameters,
        CancellationToken cancellationToken)
    {
        ValidateDatabaseName(database);
        return WriteAsync(
            ct => _databases.ExecuteAsync(database, sql, parameters, ct),
            async (leaderId, ct) =>
            {
                var request = new ClientRequest { Execute = new ExecuteRequest { Database = database, Sql = sql } };
                request.Execute.Parameters.AddRange(parameters);
                var response = await ForwardAsync(leaderId, request, ct).ConfigureAwait(false);
                if (response is null)
                    return null;
                var r = response.ExecuteResult;
                return new ExecuteResult(r.RowsAffected, r.LastInsertRowid, r.RaftIndex);
            },
            cancellationToken);
    }

    /// <summary>Runs statements that may write on the leader and returns every page of their result.</summary>
    public Task<List<RowPage>> RunWritingStatementsAsync(QueryRequest query, CancellationToken cancellationToken)
    {
        ValidateDatabaseName(query.Database);
        return WriteAsync(
            async ct =>
            {
                var (pages, index) = await _databases.RunOnWriterAsync(query.Database,
                    connection => ResultPages.ReadAll(connection, query.Sql, query.Parameters, ResultPages.DefaultRows), ct).ConfigureAwait(false);
                pages[^1].RaftIndex = index;
                return pages;
            },
            async (leaderId, ct) =>
            {
                var response = await ForwardAsync(leaderId, new ClientRequest { Query = query.Clone() }, ct).ConfigureAwait(false);
                if (response is null)
                    return null;
                var pages = new List<RowPage> { response.RowPage };
                while (!pages[^1].Done)
                {
                    var next = await _leader.SendAsync(leaderId,
                        new ClientRequest { FetchPage = new FetchPageRequest { CursorId = pages[^1].CursorId } }, ct).ConfigureAwait(false);
                    if (next.ResponseCase != ClientResponse.ResponseOneofCase.RowPage)
                        throw WireMapper.Unexpected(next);
                    pages.Add(next.RowPage);
                }
                foreach (var page in pages)
                    page.CursorId = 0;
                return pages;
            },
            cancellationToken);
    }

    /// <summary>
    /// Runs a write where the leader is: here when this node leads (once it applied its term's first
    /// entry), else forwarded. Retries only while the write certainly did not run; waits at most
    /// <see cref="LeaderWait"/> without a leader, then refuses with NoLeader.
    /// </summary>
    private async Task<T> WriteAsync<T>(Func<CancellationToken, Task<T>> local, Func<ulong, CancellationToken, Task<T?>> forward,
        CancellationToken cancellationToken) where T : class
    {
        using var deadline = new Deadline(_time, _options.CommitTimeout, cancellationToken);
        var noLeaderSince = _time.GetUtcNow();
        try
        {
            while (true)
            {
                _host.ThrowIfStopped(); // a node whose Raft loop failed neither writes nor forwards
                var status = _host.Status;
                if (status.IsLeader)
                {
                    if (status.AcceptsWrites)
                    {
                        try
                        {
                            return await local(deadline.Token).ConfigureAwait(false);
                        }
                        catch (RaftSqlException ex) when (ex.Code is RaftSqlErrorCode.NotLeader or RaftSqlErrorCode.NoLeader)
                        {
                            // The proposal was refused, so nothing was written: retry where the leader is now.
                        }
                    }
                }
                else if (status.LeaderId != 0)
                {
                    noLeaderSince = _time.GetUtcNow();
                    if (await forward(status.LeaderId, deadline.Token).ConfigureAwait(false) is { } result)
                        return result;
                }
                else if (_time.GetUtcNow() - noLeaderSince > LeaderWait)
                {
                    throw new RaftSqlException(RaftSqlErrorCode.NoLeader,
                        "No leader: the cluster is electing one, or this node is cut off from the majority.");
                }
                await Task.Delay(_options.HeartbeatInterval / 2, _time, deadline.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RaftSqlException(RaftSqlErrorCode.Timeout,
                $"The write was not carried out within {_options.CommitTimeout.TotalSeconds:0.#} s.");
        }
    }

    /// <summary>Sends a write to the leader. Null when it certainly did not run there (retry); throws when it
    /// failed or may have run.</summary>
    private async Task<ClientResponse?> ForwardAsync(ulong leaderId, ClientRequest request, CancellationToken cancellationToken)
    {
        ClientResponse response;
        try
        {
            response = await _leader.SendAsync(leaderId, request, cancellationToken).ConfigureAwait(false);
        }
        catch (LeaderUnreachableException)
        {
            return null; // could not even connect: nothing was sent
        }
        catch (RaftSqlException ex) when (ex.Code is RaftSqlErrorCode.Unavailable or RaftSqlErrorCode.Timeout)
        {
            throw new RaftSqlException(RaftSqlErrorCode.OutcomeUnknown,
                $"The connection to leader {leaderId} failed while the write was in flight; it may or may not have been applied.", ex);
        }
        if (response.ResponseCase != ClientResponse.ResponseOneofCase.Error)
            return response;
        var error = ClientErrors.ToException(response.Error);
        if (error.Code is RaftSqlErrorCode.NotLeader or RaftSqlErrorCode.NoLeader)
            return null;
        throw error;
    }

    /// <summary>
    /// Waits until a local read at <paramref name="consistency"/> may run here. The permit says where it runs:
    /// here, or on the leader (a lease read on a follower); a lease read here must check
    /// <see cref="ReadPermit.StillHolds"/> once it has read. Local reads are served even by a node whose Raft
    /// loop failed (they promise nothing); every other level then fails with NodeStopped.
    /// </summary>
    public async Task<ReadPermit> PrepareLocalReadAsync(string database, ReadConsistency consistency, ulong minIndex,
        CancellationToken cancellationToken)
    {
        ValidateDatabaseName(database);
        if (consistency == ReadConsistency.Local && _host.Replayed)
            return ReadPermit.Granted;
        if (consistency != ReadConsistency.Local)
            _host.ThrowIfStopped();
        using var deadline = new Deadline(_time, _options.RequestTimeout, cancellationToken);
        if (!_host.Replayed)
            await WaitForReplayAsync(deadline.Token, cancellationToken).ConfigureAwait(false);
        if (consistency == ReadConsistency.Local)
            return ReadPermit.Granted;
        try
        {
            switch (consistency)
            {
                case ReadConsistency.Session:
                    await _host.WaitForAppliedAsync(minIndex, deadline.Token).ConfigureAwait(false);
                    return ReadPermit.Granted;
                case ReadConsistency.Lease:
                    var status = _host.Status;
                    if (status.IsLeader && status.AcceptsWrites && status.HoldsLeaseAt(_time.GetTimestamp()))
                    {
                        // Everything this leader committed before the read began, which other nodes may already
                        // have read (ReadIndex) or acknowledged, must be applied here first.
                        await _host.WaitForAppliedAsync(_host.KnownCommit, deadline.Token).ConfigureAwait(false);
                        var permit = ReadPermit.UnderLease(status.LeaseExpiry, _time, _host, status.LeaseGeneration);
                        if (permit.StillHolds)
                            return permit;
                    }
                    if (status.LeaderId == 0 || status.IsLeader)
                    {
                        await LinearizableAsync(deadline.Token).ConfigureAwait(false);
                        return ReadPermit.Granted;
                    }
                    return ReadPermit.OnLeader;
                default:
                    await LinearizableAsync(deadline.Token).ConfigureAwait(false);
                    return ReadPermit.Granted;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RaftSqlException(RaftSqlErrorCode.Timeout,
                $"The node could not serve a {consistency} read within {_options.RequestTimeout.TotalSeconds:0.#} s.");
        }
    }

    /// <summary>Waits, within the request timeout, until this node may serve reads from its files at all (see
    /// <see cref="WaitForReplayAsync(CancellationToken, CancellationToken)"/>): for dumps and other direct reads.</summary>
    public async Task WaitForReplayAsync(CancellationToken cancellationToken)
    {
        if (_host.Replayed)
            return;
        using var deadline = new Deadline(_time, _options.RequestTimeout, cancellationToken);
        await WaitForReplayAsync(deadline.Token, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A restarting node replays the log above what its files hold durably: until it has applied the commit index
    /// it knew when it started, its files may show an older state than it served before it stopped (no read at
    /// any level may travel back in time). Waits for that within the request's deadline, else Timeout.
    /// </summary>
    private async Task WaitForReplayAsync(CancellationToken deadline, CancellationToken cancellationToken)
    {
        try
        {
            await _host.WaitForAppliedAsync(_host.StartCommit, deadline).ConfigureAwait(false);
            if (!_host.Replayed && _host.StartLastIndex > 0)
            {
                // After a crash: what this node served before may be past the saved commit index, up to its last log
                // entry. A leader's ReadIndex covers everything committed then, so applying up to it (or to that
                // last entry, if lower) reaches at least what was served.
                var index = await LinearizableIndexAsync(deadline).ConfigureAwait(false);
                await _host.WaitForAppliedAsync(Math.Min(index, _host.StartLastIndex), deadline).ConfigureAwait(false);
                _host.ConfirmReadFloor();
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RaftSqlException(RaftSqlErrorCode.Timeout,
                $"Node {_options.Id} is still replaying its log after a restart (applied {_host.Status.Applied} of {_host.StartCommit}) "
                + $"and serves no reads until it has; it did not finish within {_options.RequestTimeout.TotalSeconds:0.#} s.");
        }
    }

    /// <summary>A lease read finished after its lease ran out: it must not be returned. Waits until a read here
    /// is linearizable by a ReadIndex round (the caller then reads again).</summary>
    public async Task ConfirmLateLeaseReadAsync(string database, CancellationToken cancellationToken)
    {
        var permit = await PrepareLocalReadAsync(database, ReadConsistency.Linearizable, 0, cancellationToken).ConfigureAwait(false);
        Debug.Assert(permit == ReadPermit.Granted);
    }

    private async Task LinearizableAsync(CancellationToken cancellationToken)
    {
        var index = await LinearizableIndexAsync(cancellationToken).ConfigureAwait(false);
        await _host.WaitForAppliedAsync(index, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A ReadIndex round, retried while no leader is known for up to <see cref="LeaderWait"/>.</summary>
    private async Task<ulong> LinearizableIndexAsync(CancellationToken cancellationToken)
    {
        var noLeaderSince = _time.GetUtcNow();
        while (true)
        {
            try
            {
                return await _host.ReadIndexAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (RaftSqlException ex) when (ex.Code == RaftSqlErrorCode.NoLeader && _time.GetUtcNow() - noLeaderSince < LeaderWait)
            {
                await Task.Delay(_options.HeartbeatInterval / 2, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A whole query, for in-process callers and forwarded lease reads.</summary>
    public async Task<QueryResult> QueryAsync(string database, string sql, IReadOnlyList<Parameter> parameters,
        ReadConsistency consistency, ulong minIndex, CancellationToken cancellationToken)
    {
        var permit = await PrepareLocalReadAsync(database, consistency, minIndex, cancellationToken).ConfigureAwait(false);
        if (!permit.Here)
            return await ForwardQueryAsync(database, sql, parameters, consistency, cancellationToken).ConfigureAwait(false);
        var result = await _databases.QueryAsync(database, sql, parameters, cancellationToken).ConfigureAwait(false);
        if (permit.StillHolds)
            return result;
        await ConfirmLateLeaseReadAsync(database, cancellationToken).ConfigureAwait(false);
        return await _databases.QueryAsync(database, sql, parameters, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs a read on the leader (a lease read asked of a follower) and returns all of its rows.</summary>
    public async Task<QueryResult> ForwardQueryAsync(string database, string sql, IReadOnlyList<Parameter> parameters,
        ReadConsistency consistency, CancellationToken cancellationToken)
    {
        var leaderId = _host.Status.LeaderId;
        var request = new ClientRequest
        {
            Query = new QueryRequest { Database = database, Sql = sql, Consistency = WireMapper.ToWire(consistency) },
        };
        request.Query.Parameters.AddRange(parameters);
        ClientResponse response;
        try
        {
            response = await _leader.SendAsync(leaderId, request, cancellationToken).ConfigureAwait(false);
        }
        catch (LeaderUnreachableException ex)
        {
            throw new RaftSqlException(RaftSqlErrorCode.Unavailable, ex.Message, ex);
        }
        var columns = new List<string>();
        var rows = new List<object[]>();
        while (true)
        {
            if (response.ResponseCase != ClientResponse.ResponseOneofCase.RowPage)
                throw WireMapper.Unexpected(response);
            var page = response.RowPage;
            if (columns.Count == 0)
                columns.AddRange(page.Columns.Select(c => c.Name));
            rows.AddRange(page.Rows.Select(r => r.Values.Select(SqlValues.FromWire).ToArray()));
            if (page.Done)
                return new QueryResult(columns, rows);
            var next = new ClientRequest { FetchPage = new FetchPageRequest { CursorId = page.CursorId } };
            response = await _leader.SendAsync(leaderId, next, cancellationToken).ConfigureAwait(false);
        }
    }

    internal static void ValidateDatabaseName(string database)
    {
        if (string.IsNullOrWhiteSpace(database) || database.Length > 200 || database.IndexOfAny(['/', '\\', '\0']) >= 0
            || database is "." or ".." || database.StartsWith('.'))
            throw new RaftSqlException(RaftSqlErrorCode.UnknownDatabase, $"'{database}' is not a valid database name.");
    }
}
