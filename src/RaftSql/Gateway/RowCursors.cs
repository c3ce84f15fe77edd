using Microsoft.Data.Sqlite;
using RaftSql.Protocol;
using RaftSql.Sqlite;

namespace RaftSql.Gateway;

/// <summary>The rest of a result that a client fetches page by page.</summary>
internal interface IRowCursor : IDisposable
{
    /// <summary>The next page (rows of one result set); <c>Done</c> on the last one.</summary>
    RowPage Next(int maxRows);

    /// <summary>Completes when the rows handed out so far may leave the node (everything they saw is committed).</summary>
    Task Visible { get; }
}

/// <summary>Streams a read from an open reader on a pooled connection, result set by result set.</summary>
internal sealed class ReaderCursor : IRowCursor
{
    private readonly LocalDatabases _databases;
    private readonly string _database;
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _command;
    private readonly SqliteDataReader _reader;
    private readonly ulong _applied;
    private uint _resultSet;
    private bool _sentColumns;
    private bool _disposed;

    private ReaderCursor(LocalDatabases databases, string database, SqliteConnection connection, SqliteCommand command,
        SqliteDataReader reader, ulong applied)
    {
        _databases = databases;
        _database = database;
        _connection = connection;
        _command = command;
        _reader = reader;
        _applied = applied;
    }

    public static ReaderCursor Open(LocalDatabases databases, string database, string sql, IEnumerable<Parameter> parameters, ulong applied)
    {
        var connection = databases.RentReader(database);
        SqliteCommand? command = null;
        try
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            SqlValues.Bind(command, parameters);
            return new ReaderCursor(databases, database, connection, command, command.ExecuteReader(), applied);
        }
        catch (Exception ex) when (StatementErrors.IsStatementError(ex))
        {
            command?.Dispose();
            databases.ReturnReader(database, connection);
            throw StatementErrors.ToRaftSqlException(ex);
        }
    }

    public Task Visible { get; private set; } = Task.CompletedTask;

    public RowPage Next(int maxRows)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            return ReadPage(maxRows);
        }
        finally
        {
            Visible = _databases.WhenVisibleCommitted(_connection);
        }
    }

    private RowPage ReadPage(int maxRows)
    {
        try
        {
            var page = ResultPages.Start(_reader, _resultSet, ref _sentColumns, _applied);
            if (ResultPages.Fill(page, _reader, maxRows))
                return page;
            // This result set is exhausted: the next page starts the next one, if any.
            if (_reader.NextResult())
            {
                _resultSet++;
                _sentColumns = false;
                if (page.Rows.Count == 0 && page.Columns.Count == 0)
                    return ReadPage(maxRows);
                return page;
            }
            page.Done = true;
            page.RowsAffected = _reader.RecordsAffected; // -1 when nothing was written, as Microsoft.Data.Sqlite says
            return page;
        }
        catch (SqliteException ex)
        {
            throw ex.ToRaftSqlException();
        }
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

/// <summary>A result already read whole (a write's rows), handed out page by page.</summary>
internal sealed class PageListCursor(IReadOnlyList<RowPage> pages, int start) : IRowCursor
{
    private int _next = start;

    public RowPage Next(int maxRows) => pages[_next++];

    public Task Visible => Task.CompletedTask;

    public void Dispose()
    {
    }
}

internal static class ResultPages
{
    public const int DefaultRows = 512;

    public static RowPage Start(SqliteDataReader reader, uint resultSet, ref bool sentColumns, ulong applied)
    {
        var page = new RowPage { ResultSet = resultSet, AppliedIndex = applied };
        if (!sentColumns && reader.FieldCount > 0)
        {
            for (var i = 0; i < reader.FieldCount; i++)
                page.Columns.Add(new Column { Name = reader.GetName(i), DeclaredType = reader.GetDataTypeName(i) });
            sentColumns = true;
        }
        return page;
    }

    /// <summary>Adds rows until the page is full (true) or the result set ends (false).</summary>
    public static bool Fill(RowPage page, SqliteDataReader reader, int maxRows)
    {
        while (page.Rows.Count < maxRows)
        {
            if (!reader.Read())
                return false;
            var row = new Row();
            foreach (var value in SqlValues.ReadRow(reader))
                row.Values.Add(SqlValues.ToWire(value));
            page.Rows.Add(row);
        }
        return true;
    }

    /// <summary>Runs <paramref name="sql"/> on <paramref name="connection"/> and reads every result set into pages.
    /// The last page is marked done and carries rows affected, the last rowid and the Raft index written.</summary>
    public static List<RowPage> ReadAll(SqliteConnection connection, string sql, IEnumerable<Parameter> parameters, int maxRows)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        SqlValues.Bind(command, parameters);
        var pages = new List<RowPage>();
        using (var reader = command.ExecuteReader())
        {
            uint resultSet = 0;
            do
            {
                var sentColumns = false;
                while (true)
                {
                    var page = Start(reader, resultSet, ref sentColumns, 0);
                    var full = Fill(page, reader, maxRows);
                    if (page.Rows.Count > 0 || page.Columns.Count > 0)
                        pages.Add(page);
                    if (!full)
                        break;
                }
                resultSet++;
            }
            while (reader.NextResult());
            if (pages.Count == 0)
                pages.Add(new RowPage());
            var last = pages[^1];
            last.Done = true;
            last.RowsAffected = reader.RecordsAffected;
        }
        pages[^1].LastInsertRowid = SQLitePCL.raw.sqlite3_last_insert_rowid(connection.Handle);
        return pages;
    }
}
