using Microsoft.Data.Sqlite;
using RaftSql.Data.Channels;
using RaftSql.Data.Values;
using RaftSql.Sqlite;

namespace RaftSql.Data.Results;

/// <summary>
/// Rows read straight from an in-process node's database file on one of its pooled read-only
/// connections, which goes back to the pool when the reader is disposed.
/// </summary>
internal sealed class LocalResults : IResultCursor
{
    private readonly ILocalReads _reads;
    private readonly string _database;
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _command;
    private readonly SqliteDataReader _reader;
    private bool _onRow;
    private bool _disposed;

    private LocalResults(ILocalReads reads, string database, SqliteConnection connection, SqliteCommand command, SqliteDataReader reader)
    {
        _reads = reads;
        _database = database;
        _connection = connection;
        _command = command;
        _reader = reader;
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
            SqliteCommand command = Gateway.StatementCache.Get(connection, query.Sql);
            Gateway.SqlValues.Rebind(command, query.Parameters);
            return new LocalResults(reads, query.Database, connection, command, command.ExecuteReader());
        }
        catch (SqliteException ex)
        {
            reads.Return(query.Database, connection);
            throw ex.ToRaftSqlException();
        }
        catch
        {
            reads.Return(query.Database, connection);
            throw;
        }
    }

    public int FieldCount => _reader.FieldCount;

    public int RecordsAffected => _reader.RecordsAffected;

    public bool OnRow => _onRow;

    public string GetName(int ordinal) => _reader.GetName(ordinal);

    public string GetDeclaredType(int ordinal) => _reader.GetDataTypeName(ordinal);

    public SqlValue GetValue(int ordinal)
    {
        if (_reader.IsDBNull(ordinal))
            return SqlValue.Null;
        Type type = _reader.GetFieldType(ordinal);
        if (type == typeof(long))
            return SqlValue.FromInteger(_reader.GetInt64(ordinal));
        if (type == typeof(double))
            return SqlValue.FromReal(_reader.GetDouble(ordinal));
        if (type == typeof(string))
            return SqlValue.FromText(_reader.GetString(ordinal));
        return SqlValue.FromBlob(_reader.GetFieldValue<byte[]>(ordinal));
    }

    public ValueTask<bool> HasRowsAsync(CancellationToken cancellationToken) => ValueTask.FromResult(_reader.HasRows);

    public ValueTask<bool> ReadAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_onRow = Step(_reader.Read));
    }

    public async ValueTask<bool> NextResultAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _onRow = false;
        bool more = Step(_reader.NextResult);
        await _reads.WhenVisibleCommitted(_connection).WaitAsync(cancellationToken).ConfigureAwait(false);
        return more;
    }

    public ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            _reader.Dispose();
            _reads.Return(_database, _connection);
        }
        return ValueTask.CompletedTask;
    }

    private static bool Step(Func<bool> step)
    {
        try
        {
            return step();
        }
        catch (SqliteException ex)
        {
            throw ex.ToRaftSqlException();
        }
    }
}
