using Microsoft.Data.Sqlite;
using RaftSql.Data.Channels;
using RaftSql.Data.Values;
using RaftSql.Gateway;
using SQLitePCL;

namespace RaftSql.Data.Results;

/// <summary>
/// Rows read straight from an in-process node's database file on one of its pooled read-only
/// connections (through SQLite's own API, see <see cref="PreparedRead"/>), which goes back to the pool when
/// the reader is disposed.
/// </summary>
internal sealed class LocalResults : IResultCursor
{
    private readonly ILocalReads _reads;
    private readonly string _database;
    private readonly SqliteConnection _connection;
    private readonly PreparedRead _read;
    private bool _disposed;

    private LocalResults(ILocalReads reads, string database, SqliteConnection connection, PreparedRead read)
    {
        _reads = reads;
        _database = database;
        _connection = connection;
        _read = read;
    }

    /// <summary>Runs <paramref name="query"/> on a rented connection of <paramref name="reads"/>; returns once
    /// what it reads is committed.</summary>
    public static async Task<LocalResults> OpenAsync(ILocalReads reads, Protocol.QueryRequest query, CancellationToken cancellationToken)
    {
        LocalResults results = Open(reads, query);
        try
        {
            await reads.WhenVisibleCommitted(results._connection).WaitAsync(cancellationToken).ConfigureAwait(false);
            return results;
        }
        catch
        {
            await results.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static LocalResults Open(ILocalReads reads, Protocol.QueryRequest query)
    {
        SqliteConnection connection = reads.Rent(query.Database);
        try
        {
            // The node keeps prepared statements with its pooled connections: a repeated read skips the parser.
            PreparedRead read = StatementCache.GetRead(connection, query.Sql);
            read.Start(query.Parameters);
            return new LocalResults(reads, query.Database, connection, read);
        }
        catch (ObjectDisposedException ex)
        {
            reads.Return(query.Database, connection);
            throw Closed(ex);
        }
        catch
        {
            reads.Return(query.Database, connection);
            throw;
        }
    }

    public int FieldCount => _read.FieldCount;

    public int RecordsAffected => _read.RecordsAffected;

    public bool OnRow => _read.OnRow;

    public string GetName(int ordinal) => _read.GetName(ordinal);

    public string GetDeclaredType(int ordinal) => _read.GetDeclaredType(ordinal);

    public SqlValue GetValue(int ordinal) => _read.ColumnType(ordinal) switch
    {
        raw.SQLITE_INTEGER => SqlValue.FromInteger(_read.GetInt64(ordinal)),
        raw.SQLITE_FLOAT => SqlValue.FromReal(_read.GetDouble(ordinal)),
        raw.SQLITE_TEXT => SqlValue.FromText(_read.GetText(ordinal)),
        raw.SQLITE_BLOB => SqlValue.FromBlob(_read.GetBlob(ordinal)),
        _ => SqlValue.Null,
    };

    public ValueTask<bool> HasRowsAsync(CancellationToken cancellationToken) => ValueTask.FromResult(_read.HasRows);

    public ValueTask<bool> ReadAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return ValueTask.FromResult(_read.Read());
        }
        catch (ObjectDisposedException ex)
        {
            throw Closed(ex);
        }
    }

    public async ValueTask<bool> NextResultAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        bool more;
        try
        {
            more = _read.NextResult();
        }
        catch (ObjectDisposedException ex)
        {
            throw Closed(ex);
        }
        await _reads.WhenVisibleCommitted(_connection).WaitAsync(cancellationToken).ConfigureAwait(false);
        return more;
    }

    public ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            try
            {
                _read.End();
            }
            catch (ObjectDisposedException)
            {
                // The node closed the connection under this reader (a snapshot install): nothing left to end.
            }
            _reads.Return(_database, _connection);
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>The node closed the connection under this read (it is installing a snapshot that replaces the
    /// files): a retryable Unavailable.</summary>
    private static RaftSqlException Closed(ObjectDisposedException ex) =>
        new(RaftSqlErrorCode.Unavailable, "The node closed its database files under this read (it is installing a snapshot); retry it.", ex);
}
