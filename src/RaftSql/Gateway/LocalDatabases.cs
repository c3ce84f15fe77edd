using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using RaftSql.Hosting;
using RaftSql.Protocol;
using RaftSql.Sqlite;
using SQLitePCL;

namespace RaftSql.Gateway;

/// <summary>
/// Runs statements on this node's SQLite databases: writes on one connection per database (SQLite
/// has one writer anyway; a semaphore queues the rest without spinning on SQLITE_BUSY), reads on pooled
/// read-only connections. On the leader a write releases the connection as soon as its frames are in
/// the WAL and proposed; its reply (and any result read from this node's files) waits until what it
/// depends on is committed: nothing that may still be lost leaves the node.
/// </summary>
internal sealed class LocalDatabases : IDisposable
{
    private readonly ReplicationEngine _engine;
    private readonly ConcurrentDictionary<string, Writer> _writers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentBag<SqliteConnection>> _readers = new(StringComparer.Ordinal);
    // Every read adds and removes here, from many threads at once: many lock stripes, so they rarely meet.
    private readonly ConcurrentDictionary<SqliteConnection, byte> _rented = new(concurrencyLevel: 64, capacity: 64);
    private readonly ConcurrentDictionary<WriteTransaction, byte> _transactions = new();
    private readonly ConcurrentDictionary<(string Database, string Sql), byte> _readOnly = new();
    private const int ReadOnlyVerdicts = 1024;
    private volatile bool _disposed;

    private readonly NodeRuntime _runtime;

    public LocalDatabases(ReplicationEngine engine, NodeRuntime? runtime = null)
    {
        _engine = engine;
        _runtime = runtime ?? NodeRuntime.Production;
    }

    public bool Exists(string database) => _engine.Contains(database);

    /// <summary>Runs a writing statement through this node's SQLite (the node must be the leader).</summary>
    public async Task<ExecuteResult> ExecuteAsync(string database, string sql, IEnumerable<Parameter> parameters,
        CancellationToken cancellationToken)
    {
        var (result, index) = await RunOnWriterAsync(database, connection =>
        {
            // Prepared once per statement text on the write connection: applications repeat their writes.
            var command = StatementCache.Get(connection, sql);
            SqlValues.Rebind(command, parameters as IReadOnlyList<Parameter> ?? [.. parameters]);
            var rows = command.ExecuteNonQuery();
            return new ExecuteResult(rows, raw.sqlite3_last_insert_rowid(connection.Handle), 0);
        }, cancellationToken).ConfigureAwait(false);
        return result with { RaftIndex = index };
    }

    /// <summary>Runs <paramref name="work"/> on the database's write connection, one writer at a time, and
    /// returns its result once everything it wrote or saw is committed, with the Raft index of its last commit.</summary>
    public async Task<(T Result, ulong RaftIndex)> RunOnWriterAsync<T>(string database, Func<SqliteConnection, T> work,
        CancellationToken cancellationToken)
    {
        var writer = _writers.GetOrAdd(database, _ => new Writer());
        await writer.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        Gated<T> gated;
        try
        {
            gated = await _runtime.Run(() =>
            {
                try
                {
                    return RunLocked(writer, database, work);
                }
                finally
                {
                    if (writer.Connection is { } connection)
                        RollBackLeftovers(connection); // null when the node stopped under the writer
                }
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            writer.Gate.Release(); // the next writer starts on top of ours while ours replicates
        }
        var index = await gated.ReleasedAsync(cancellationToken).ConfigureAwait(false);
        return (gated.Result, index);
    }

    private void ThrowIfStopped()
    {
        if (_disposed)
            throw new RaftSqlException(RaftSqlErrorCode.NodeStopped, "The node is stopped.");
    }

    private Gated<T> RunLocked<T>(Writer writer, string database, Func<SqliteConnection, T> work)
    {
        ThrowIfStopped();
        writer.Connection ??= _engine.OpenConnection(database);
        var connection = writer.Connection;
        if (raw.sqlite3_get_autocommit(connection.Handle) != 0)
        {
            _engine.ForgetReads(connection); // outside a transaction nothing earlier matters to this statement
        }
        LocalCommitTracker.Reset();
        writer.Active = connection;
        try
        {
            var result = work(connection);
            return new Gated<T>(result, LocalCommitTracker.Take(), _engine.WhenVisibleCommitted(connection));
        }
        catch (Exception ex) when (StatementErrors.IsStatementError(ex))
        {
            var error = StatementErrors.ToRaftSqlException(ex);
            if (LocalCommitTracker.Take().Count > 0)
            {
                // A statement text that committed part of itself before failing: those commits replicate on their own.
                throw new RaftSqlException(RaftSqlErrorCode.OutcomeUnknown,
                    $"Part of the statement text committed before it failed ({error.Message}); its outcome is partly unknown.", error);
            }
            if (ex is SqliteException { SqliteErrorCode: raw.SQLITE_INTERRUPT })
            {
                // Only leadership loss interrupts a write connection; the statement rolled back, nothing of it committed.
                throw new RaftSqlException(RaftSqlErrorCode.NotLeader, "Leadership was lost while the statement ran; nothing of it was committed.", ex);
            }
            throw error;
        }
        finally
        {
            writer.Active = null;
        }
    }

    /// <summary>Waits until the rows of a read on <paramref name="connection"/> may leave the node (see
    /// <see cref="ReplicationEngine.WhenVisibleCommitted"/>); completes at once on followers.</summary>
    public Task WhenVisibleCommitted(SqliteConnection connection) => _engine.WhenVisibleCommitted(connection);

    // ---- interactive transactions: they hold the database's writer until commit or rollback ----------

    /// <summary>Starts an interactive transaction on the leader's write connection.</summary>
    public async Task<WriteTransaction> BeginAsync(string database, TimeSpan wait, CancellationToken cancellationToken)
    {
        var writer = _writers.GetOrAdd(database, _ => new Writer());
        if (!await writer.Gate.WaitAsync(wait, _runtime.Time, cancellationToken).ConfigureAwait(false))
            throw new RaftSqlException(RaftSqlErrorCode.Timeout, $"Database '{database}' stayed busy with another writer.");
        var transaction = new WriteTransaction(database, writer);
        try
        {
            await _runtime.Run(() => RunLocked(writer, database, connection =>
            {
                Execute(connection, "BEGIN");
                return true;
            }), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            writer.Gate.Release();
            throw;
        }
        _transactions[transaction] = 0;
        return transaction;
    }

    /// <summary>Runs a statement inside <paramref name="transaction"/>; its result waits until what it saw is committed.</summary>
    public async Task<T> RunInTransactionAsync<T>(WriteTransaction transaction, Func<SqliteConnection, T> work,
        CancellationToken cancellationToken)
    {
        Gated<T> gated;
        Task visible;
        await transaction.StatementLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            transaction.ThrowIfEnded();
            gated = await _runtime.Run(() => RunLocked(transaction.Writer, transaction.Database, work), cancellationToken).ConfigureAwait(false);
            // A transaction reads one snapshot across statements, and only its first read records it: every
            // statement's result waits for the gates of the statements before it too.
            transaction.Visible = Both(transaction.Visible, gated.ReleasedAsync(CancellationToken.None));
            visible = AsyncCompletion.Fork(transaction.Visible); // the next statement awaits it too
        }
        catch (RaftSqlException) when (transaction.AbortReason is { } reason)
        {
            throw reason;
        }
        finally
        {
            if (transaction.AbortReason is not null)
                End(transaction, rollBack: true);
            transaction.StatementLock.Release();
        }
        try
        {
            await visible.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RaftSqlException or OperationCanceledException)
        {
            // Later statements of this transaction would read the same snapshot without waiting again.
            transaction.Abort(ex as RaftSqlException ?? new RaftSqlException(RaftSqlErrorCode.Timeout,
                "A read in the transaction did not become committed in time; the transaction was rolled back."));
            await RollbackAsync(transaction).ConfigureAwait(false);
            throw;
        }
        return gated.Result;
    }

    private static async Task Both(Task first, Task second)
    {
        await first.ConfigureAwait(false);
        await second.ConfigureAwait(false);
    }

    /// <summary>Commits; returns the Raft index the transaction committed at (0 when it wrote nothing)
    /// once it is committed. The write connection is free for the next writer as soon as the frames are proposed.</summary>
    public async Task<ulong> CommitAsync(WriteTransaction transaction, CancellationToken cancellationToken)
    {
        Gated<bool> gated;
        await transaction.StatementLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            transaction.ThrowIfEnded();
            gated = await _runtime.Run(() => RunLocked(transaction.Writer, transaction.Database, connection =>
            {
                Execute(connection, "COMMIT");
                return true;
            }), CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            End(transaction, rollBack: true);
            transaction.StatementLock.Release();
        }
        return await gated.ReleasedAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task RollbackAsync(WriteTransaction transaction)
    {
        await transaction.StatementLock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            End(transaction, rollBack: true);
        }
        finally
        {
            transaction.StatementLock.Release();
        }
    }

    /// <summary>Leadership was lost: every open transaction is rolled back now (or, when a statement is
    /// running in it, as soon as that statement is interrupted), so the apply loop can take the write lock.</summary>
    public void AbortTransactions()
    {
        foreach (var transaction in _transactions.Keys)
        {
            transaction.Abort(new RaftSqlException(RaftSqlErrorCode.NotLeader,
                "Leadership was lost; the transaction was rolled back and nothing of it was committed."));
            if (transaction.StatementLock.TryEnter())
            {
                End(transaction, rollBack: true);
                transaction.StatementLock.Release();
            }
            else if (transaction.Writer.Active is { } active)
            {
                raw.sqlite3_interrupt(active.Handle);
            }
        }
    }

    /// <summary>Called with the statement lock held: leaves the transaction and frees the writer.</summary>
    private void End(WriteTransaction transaction, bool rollBack)
    {
        if (!transaction.MarkEnded())
            return;
        _transactions.TryRemove(transaction, out _);
        if (rollBack && transaction.Writer.Connection is { } connection)
            RollBackLeftovers(connection);
        transaction.Writer.Gate.Release();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Statement text such as "BEGIN; INSERT ..." that fails half way must not leave the shared
    /// write connection inside a transaction.</summary>
    private static void RollBackLeftovers(SqliteConnection connection)
    {
        if (connection.State == System.Data.ConnectionState.Open && raw.sqlite3_get_autocommit(connection.Handle) == 0)
        {
            using var rollback = connection.CreateCommand();
            rollback.CommandText = "ROLLBACK";
            try
            {
                rollback.ExecuteNonQuery();
            }
            catch (SqliteException)
            {
                // Already rolled back by SQLite itself (e.g. after an I/O error in the commit).
            }
        }
    }

    /// <summary>
    /// True when every statement of <paramref name="sql"/> only reads (SQLite's own verdict,
    /// sqlite3_stmt_readonly). False when any writes, or when it cannot be prepared here (e.g. the
    /// database or table does not exist on this node yet): the leader then decides.
    /// </summary>
    public bool IsReadOnly(string database, string sql)
    {
        if (!Exists(database))
            return false;
        if (_readOnly.ContainsKey((database, sql)))
            return true;
        if (!PrepareReadOnly(database, sql))
            return false;
        // Whether a text only reads depends on its statements, not on the data: keep positive verdicts.
        if (_readOnly.Count < ReadOnlyVerdicts)
            _readOnly[(database, sql)] = 0;
        return true;
    }

    private bool PrepareReadOnly(string database, string sql)
    {
        var connection = RentReader(database);
        try
        {
            ReadOnlySpan<byte> remaining = System.Text.Encoding.UTF8.GetBytes(sql);
            while (!remaining.IsEmpty)
            {
                if (raw.sqlite3_prepare_v2(connection.Handle, remaining, out var statement, out var tail) != raw.SQLITE_OK)
                    return false;
                using (statement)
                {
                    if (!statement.IsInvalid && raw.sqlite3_stmt_readonly(statement) == 0)
                        return false;
                }
                remaining = tail;
            }
            return true;
        }
        finally
        {
            ReturnReader(database, connection);
        }
    }

    /// <summary>Opens a read-only connection from the pool; return it with <see cref="ReturnReader"/>.</summary>
    public SqliteConnection RentReader(string database)
    {
        ThrowIfStopped();
        if (!Exists(database))
            throw new RaftSqlException(RaftSqlErrorCode.UnknownDatabase, $"Database '{database}' does not exist on this node.");
        var pool = _readers.GetOrAdd(database, _ => []);
        var connection = pool.TryTake(out var pooled) ? pooled : _engine.OpenConnection(database, readOnly: true);
        _engine.ForgetReads(connection);
        _rented[connection] = 0;
        return connection;
    }

    public void ReturnReader(string database, SqliteConnection connection)
    {
        if (!_rented.TryRemove(connection, out _))
            return; // closed under the reader by CloseAll
        if (_disposed || raw.sqlite3_get_autocommit(connection.Handle) == 0)
        {
            StatementCache.Close(connection);
            return;
        }
        _readers.GetOrAdd(database, _ => []).Add(connection);
    }

    /// <summary>Reads every row of a query at once (for in-process callers). Runs on the calling thread:
    /// a point read takes microseconds, less than a thread hop. The rows are returned once everything the
    /// read saw is committed.</summary>
    public async Task<QueryResult> QueryAsync(string database, string sql, IEnumerable<Parameter> parameters, CancellationToken cancellationToken)
    {
        var (result, visible) = Query(database, sql, parameters, cancellationToken);
        await visible.WaitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    private (QueryResult Result, Task Visible) Query(string database, string sql, IEnumerable<Parameter> parameters, CancellationToken cancellationToken)
    {
        var connection = RentReader(database);
        try
        {
            var command = StatementCache.Get(connection, sql);
            SqlValues.Rebind(command, parameters as IReadOnlyList<Parameter> ?? [.. parameters]);
            using var reader = command.ExecuteReader();
            var columns = new string[reader.FieldCount];
            for (var i = 0; i < columns.Length; i++)
                columns[i] = reader.GetName(i);
            var rows = new List<object[]>();
            while (reader.Read())
            {
                cancellationToken.ThrowIfCancellationRequested();
                rows.Add(SqlValues.ReadRow(reader));
            }
            return (new QueryResult(columns, rows), _engine.WhenVisibleCommitted(connection));
        }
        catch (Exception ex) when (StatementErrors.IsStatementError(ex))
        {
            throw StatementErrors.ToRaftSqlException(ex);
        }
        finally
        {
            ReturnReader(database, connection);
        }
    }

    /// <summary>Stops statements running on write connections (leadership was lost: their transactions
    /// must roll back before the apply loop needs the write lock).</summary>
    public void InterruptWriters()
    {
        foreach (var writer in _writers.Values)
        {
            if (writer.Active is { } active)
                raw.sqlite3_interrupt(active.Handle);
        }
    }

    /// <summary>Writes a consistent copy of <paramref name="database"/> to <paramref name="path"/> as one
    /// plain SQLite file (SQLite's backup of a read snapshot), so copies from different nodes compare byte for byte.</summary>
    public Task DumpTo(string database, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.Delete(path);
        var source = RentReader(database);
        try
        {
            using var destination = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
            destination.Open();
            source.BackupDatabase(destination);
            return _engine.WhenVisibleCommitted(source); // a leader's dump must not hold uncommitted frames
        }
        catch (SqliteException ex)
        {
            throw ex.ToRaftSqlException();
        }
        finally
        {
            ReturnReader(database, source);
        }
    }

    /// <summary>Closes every connection (a snapshot is about to replace the database files). Readers
    /// that were in use fail on their next step; new requests open fresh connections.</summary>
    public void CloseAll()
    {
        foreach (var writer in _writers.Values)
        {
            if (writer.Gate.Wait(TimeSpan.FromSeconds(30)))
            {
                if (writer.Connection is { } connection)
                    StatementCache.Close(connection);
                writer.Connection = null;
                writer.Gate.Release();
            }
        }
        foreach (var pool in _readers.Values)
        {
            while (pool.TryTake(out var connection))
                StatementCache.Close(connection);
        }
        foreach (var connection in _rented.Keys)
        {
            if (_rented.TryRemove(connection, out _))
            {
                raw.sqlite3_interrupt(connection.Handle);
                StatementCache.Close(connection);
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        CloseAll();
    }

    internal sealed class Writer
    {
        public AsyncGate Gate { get; } = new();

        public SqliteConnection? Connection { get; set; }

        public volatile SqliteConnection? Active;
    }
}
