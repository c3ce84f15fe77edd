using Microsoft.Data.Sqlite;
using RaftSql.Protocol;
using RaftSql.Sqlite;
using SQLitePCL;

namespace RaftSql.Gateway;

/// <summary>
/// A read-only SQL text prepared on one pooled read connection and run with SQLite's own API: bind, step and
/// read columns. Microsoft.Data.Sqlite's reader costs about as much CPU as SQLite itself on a point read, and
/// allocates per call; with many readers on few cores that halved the rate (ProviderOverheadBenchmark).
/// Keeps Microsoft.Data.Sqlite's rules: parameters bind by name (an unused one is ignored, a missing one is an
/// error), a statement with no columns runs and is skipped, SQLITE_BUSY is retried for 30 s.
/// One user at a time, as its connection; <see cref="End"/> closes the read transaction.
/// </summary>
internal sealed class PreparedRead : IDisposable
{
    private static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(30);

    private readonly sqlite3 _db;
    private readonly sqlite3_stmt[] _statements;
    private IReadOnlyList<Parameter> _parameters = [];
    private int _next;
    private sqlite3_stmt? _current;
    private bool _rowPending; // the current statement stepped to a row that Read has not handed out yet
    private bool _onRow;

    private PreparedRead(sqlite3 db, sqlite3_stmt[] statements)
    {
        _db = db;
        _statements = statements;
    }

    /// <summary>Prepares every statement of <paramref name="sql"/>.</summary>
    /// <exception cref="RaftSqlException">SqlError when SQLite cannot prepare it.</exception>
    public static PreparedRead Prepare(SqliteConnection connection, string sql)
    {
        var db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        var statements = new List<sqlite3_stmt>();
        try
        {
            ReadOnlySpan<byte> remaining = System.Text.Encoding.UTF8.GetBytes(sql);
            while (!remaining.IsEmpty)
            {
                var rc = raw.sqlite3_prepare_v2(db, remaining, out var statement, out var tail);
                Check(rc, db);
                if (statement.IsInvalid)
                    statement.Dispose(); // only a comment or whitespace was left
                else
                    statements.Add(statement);
                remaining = tail;
            }
            return new PreparedRead(db, [.. statements]);
        }
        catch
        {
            foreach (var statement in statements)
                statement.Dispose();
            throw;
        }
    }

    /// <summary>Columns of the current result set (0 before the first or after the last).</summary>
    public int FieldCount => _current is null ? 0 : raw.sqlite3_column_count(_current);

    /// <summary>-1: these statements only read, as Microsoft.Data.Sqlite reports it.</summary>
    public int RecordsAffected => -1;

    /// <summary>Whether the current result set has a row not yet consumed, or is on one.</summary>
    public bool HasRows { get; private set; }

    public bool OnRow => _onRow;

    /// <summary>Starts a run with <paramref name="parameters"/> and moves to its first result set.</summary>
    public bool Start(IReadOnlyList<Parameter> parameters)
    {
        End();
        _parameters = parameters;
        _next = 0;
        return NextResult();
    }

    /// <summary>Runs statements up to the next one that returns columns and steps to its first row.</summary>
    public bool NextResult()
    {
        ResetCurrent();
        while (_next < _statements.Length)
        {
            var statement = _statements[_next++];
            Bind(statement);
            var rc = Step(statement);
            if (raw.sqlite3_column_count(statement) != 0)
            {
                _current = statement;
                _rowPending = HasRows = rc == raw.SQLITE_ROW;
                return true;
            }
            while (rc != raw.SQLITE_DONE)
                rc = Step(statement);
            raw.sqlite3_reset(statement);
        }
        return false;
    }

    public bool Read()
    {
        if (_current is null)
            return _onRow = false;
        if (_rowPending)
        {
            _rowPending = false;
            return _onRow = true;
        }
        return _onRow = _onRow && Step(_current) == raw.SQLITE_ROW;
    }

    public string GetName(int ordinal) => raw.sqlite3_column_name(Current, ordinal).utf8_to_string() ?? "";

    /// <summary>The declared type (without its size), else the storage class of the current value.</summary>
    public string GetDeclaredType(int ordinal)
    {
        var declared = raw.sqlite3_column_decltype(Current, ordinal).utf8_to_string();
        if (declared is not null)
        {
            var open = declared.IndexOf('(', StringComparison.Ordinal);
            return open < 0 ? declared : declared[..open];
        }
        return ColumnType(ordinal) switch
        {
            raw.SQLITE_INTEGER => "INTEGER",
            raw.SQLITE_FLOAT => "REAL",
            raw.SQLITE_TEXT => "TEXT",
            _ => "BLOB",
        };
    }

    /// <summary>SQLite's storage class of the value in the current row (raw.SQLITE_INTEGER, ...).</summary>
    public int ColumnType(int ordinal) => raw.sqlite3_column_type(Current, ordinal);

    public long GetInt64(int ordinal) => raw.sqlite3_column_int64(Current, ordinal);

    public double GetDouble(int ordinal) => raw.sqlite3_column_double(Current, ordinal);

    public string GetText(int ordinal) => raw.sqlite3_column_text(Current, ordinal).utf8_to_string() ?? "";

    public byte[] GetBlob(int ordinal) => raw.sqlite3_column_blob(Current, ordinal).ToArray();

    /// <summary>Ends the run: every statement reset, so the read transaction is over.</summary>
    public void End()
    {
        ResetCurrent();
        _next = _statements.Length;
        _parameters = [];
    }

    public void Dispose()
    {
        foreach (var statement in _statements)
            statement.Dispose();
    }

    private sqlite3_stmt Current => _current ?? throw new InvalidOperationException("No result set is current.");

    private void ResetCurrent()
    {
        if (_current is { } current)
            raw.sqlite3_reset(current);
        _current = null;
        _rowPending = _onRow = HasRows = false;
    }

    private int Step(sqlite3_stmt statement)
    {
        var rc = raw.sqlite3_step(statement);
        if (IsBusy(rc))
        {
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (IsBusy(rc) && waited.Elapsed < BusyTimeout)
            {
                raw.sqlite3_reset(statement);
                Thread.Sleep(5); // as Microsoft.Data.Sqlite does: a local reader has no one to yield to
                rc = raw.sqlite3_step(statement);
            }
        }
        if (rc != raw.SQLITE_ROW && rc != raw.SQLITE_DONE)
        {
            raw.sqlite3_reset(statement);
            Check(rc, _db);
        }
        return rc;
    }

    private static bool IsBusy(int rc) => (rc & 0xff) is raw.SQLITE_BUSY or raw.SQLITE_LOCKED;

    private void Bind(sqlite3_stmt statement)
    {
        raw.sqlite3_clear_bindings(statement);
        var count = raw.sqlite3_bind_parameter_count(statement);
        if (count == 0)
            return;
        Span<bool> bound = count <= 64 ? stackalloc bool[count] : new bool[count];
        for (var position = 0; position < _parameters.Count; position++)
        {
            var parameter = _parameters[position];
            var index = IndexOf(statement, parameter.Name, position + 1);
            if (index == 0)
                continue; // a parameter the statement does not use, as Microsoft.Data.Sqlite allows
            BindValue(statement, index, parameter.Value);
            bound[index - 1] = true;
        }
        List<string>? missing = null;
        for (var i = 0; i < count; i++)
        {
            if (!bound[i])
                (missing ??= []).Add(raw.sqlite3_bind_parameter_name(statement, i + 1).utf8_to_string() ?? $"?{i + 1}");
        }
        if (missing is not null)
            throw new RaftSqlException(RaftSqlErrorCode.SqlError, $"Must add values for the following parameters: {string.Join(", ", missing)}");
    }

    /// <summary>The statement's index for a parameter: by its name, else with each prefix SQLite knows when
    /// the name has none, else (no name) by position as ?N.</summary>
    private static int IndexOf(sqlite3_stmt statement, string name, int position)
    {
        if (name.Length == 0)
            return raw.sqlite3_bind_parameter_index(statement, "?" + position.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var index = raw.sqlite3_bind_parameter_index(statement, name);
        if (index != 0 || name[0] is '@' or '$' or ':' or '?')
            return index;
        foreach (var prefix in Prefixes)
        {
            if ((index = raw.sqlite3_bind_parameter_index(statement, prefix + name)) != 0)
                return index;
        }
        return 0;
    }

    private static readonly string[] Prefixes = ["@", "$", ":"];

    private void BindValue(sqlite3_stmt statement, int index, Value? value)
    {
        var rc = value?.KindCase switch
        {
            Value.KindOneofCase.Integer => raw.sqlite3_bind_int64(statement, index, value.Integer),
            Value.KindOneofCase.Real => double.IsNaN(value.Real)
                ? throw new RaftSqlException(RaftSqlErrorCode.SqlError, "Cannot store 'NaN' values.")
                : raw.sqlite3_bind_double(statement, index, value.Real),
            Value.KindOneofCase.Text => raw.sqlite3_bind_text(statement, index, value.Text),
            // An empty span has no address, and SQLite binds a null pointer as NULL: bind an empty blob instead.
            Value.KindOneofCase.Blob => value.Blob.Length == 0
                ? raw.sqlite3_bind_zeroblob(statement, index, 0)
                : raw.sqlite3_bind_blob(statement, index, value.Blob.Span),
            _ => raw.sqlite3_bind_null(statement, index),
        };
        Check(rc, _db);
    }

    /// <summary>Throws SQLite's error for <paramref name="rc"/> as a RaftSqlException (SqlError with its code).</summary>
    private static void Check(int rc, sqlite3 db)
    {
        if (rc is raw.SQLITE_OK or raw.SQLITE_ROW or raw.SQLITE_DONE)
            return;
        try
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
        catch (SqliteException ex)
        {
            throw ex.ToRaftSqlException();
        }
    }
}
