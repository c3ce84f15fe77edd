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
/// read-only connections.
/// </summary>
internal sealed class LocalDatabases : IDisposable
{
    private readonly ReplicationEngine _engine;
    private readonly ConcurrentDictionary<string, Writer> _writers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentBag<SqliteConnection>> _readers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<SqliteConnection, byte> _rented = new();
    private volatile bool _disposed;

    public LocalDatabases(ReplicationEngine engine) => _engine = engine;

    public bool Exists(string database) => _engine.Databases.Contains(database, StringComparer.Ordinal);

    /// <summary>Runs a writing statement through this node's SQLite (the node must be the leader).</summary>
    public async Task<ExecuteResult> ExecuteAsync(string database, string sql, IEnumerable<Parameter> parameters,
        CancellationToken cancellationToken)
    {
        var writer = _writers.GetOrAdd(database, _ => new Writer());
        await writer.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await Task.Run(() => ExecuteLocked(writer, database, sql, parameters), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            writer.Gate.Release();
        }
    }

    private ExecuteResult ExecuteLocked(Writer writer, string database, string sql, IEnumerable<Parameter> parameters)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        writer.Connection ??= _engine.OpenConnection(database);
        var connection = writer.Connection;
        LocalCommitTracker.Reset();
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            SqlValues.Bind(command, parameters);
            writer.Active = connection;
            var rows = command.ExecuteNonQuery();
            var rowId = raw.sqlite3_last_insert_rowid(connection.Handle);
            return new ExecuteResult(rows, rowId, LocalCommitTracker.LastIndex);
        }
        catch (SqliteException ex)
        {
            throw ex.ToRaftSqlException();
        }
        finally
        {
            writer.Active = null;
            RollBackLeftovers(connection);
        }
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

    /// <summary>Opens a read-only connection from the pool; return it with <see cref="ReturnReader"/>.</summary>
    public SqliteConnection RentReader(string database)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!Exists(database))
            throw new RaftSqlException(RaftSqlErrorCode.UnknownDatabase, $"Database '{database}' does not exist on this node.");
        var pool = _readers.GetOrAdd(database, _ => []);
        var connection = pool.TryTake(out var pooled) ? pooled : _engine.OpenConnection(database, readOnly: true);
        _rented[connection] = 0;
        return connection;
    }

    public void ReturnReader(string database, SqliteConnection connection)
    {
        if (!_rented.TryRemove(connection, out _))
            return; // closed under the reader by CloseAll
        if (_disposed || raw.sqlite3_get_autocommit(connection.Handle) == 0)
        {
            connection.Dispose();
            return;
        }
        _readers.GetOrAdd(database, _ => []).Add(connection);
    }

    /// <summary>Reads every row of a query at once (for in-process callers).</summary>
    public async Task<QueryResult> QueryAsync(string database, string sql, IEnumerable<Parameter> parameters,
        CancellationToken cancellationToken)
    {
        return await Task.Run(() =>
        {
            var connection = RentReader(database);
            try
            {
                using var command = connection.CreateCommand();
                command.CommandText = sql;
                SqlValues.Bind(command, parameters);
                using var reader = command.ExecuteReader();
                var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();
                var rows = new List<object[]>();
                while (reader.Read())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    rows.Add(SqlValues.ReadRow(reader));
                }
                return new QueryResult(columns, rows);
            }
            catch (SqliteException ex)
            {
                throw ex.ToRaftSqlException();
            }
            finally
            {
                ReturnReader(database, connection);
            }
        }, cancellationToken).ConfigureAwait(false);
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
    public void DumpTo(string database, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.Delete(path);
        var source = RentReader(database);
        try
        {
            using var destination = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
            destination.Open();
            source.BackupDatabase(destination);
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
                writer.Connection?.Dispose();
                writer.Connection = null;
                writer.Gate.Release();
            }
        }
        foreach (var pool in _readers.Values)
        {
            while (pool.TryTake(out var connection))
                connection.Dispose();
        }
        foreach (var connection in _rented.Keys)
        {
            if (_rented.TryRemove(connection, out _))
            {
                raw.sqlite3_interrupt(connection.Handle);
                connection.Dispose();
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        CloseAll();
    }

    private sealed class Writer
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public SqliteConnection? Connection { get; set; }

        public volatile SqliteConnection? Active;
    }
}
