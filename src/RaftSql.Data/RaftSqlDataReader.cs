using System.Collections;
using System.Data;
using System.Data.Common;
using RaftSql.Data.Results;
using RaftSql.Data.Values;

namespace RaftSql.Data;

/// <summary>
/// Reads the result sets of a <see cref="RaftSqlCommand"/>, forward only. Values come back in SQLite's
/// storage classes (<see cref="GetValue"/> gives long, double, string, byte[] or DBNull) and convert to
/// other .NET types with Microsoft.Data.Sqlite's conventions (<see cref="GetFieldValue{T}"/>). Rows from a
/// remote node arrive in pages as they are read.
/// </summary>
public sealed class RaftSqlDataReader : DbDataReader
{
    private readonly RaftSqlConnection _connection;
    private readonly IResultCursor _results;
    private readonly CommandBehavior _behavior;
    private bool _closed;

    internal RaftSqlDataReader(RaftSqlConnection connection, IResultCursor results, CommandBehavior behavior)
    {
        _connection = connection;
        _results = results;
        _behavior = behavior;
    }

    /// <summary>Always 0: results do not nest.</summary>
    public override int Depth => 0;

    /// <summary>Columns in the current result set (0 when the command returned none).</summary>
    public override int FieldCount
    {
        get
        {
            ThrowIfClosed();
            return _results.FieldCount;
        }
    }

    /// <summary>Whether the current result set has rows.</summary>
    public override bool HasRows
    {
        get
        {
            ThrowIfClosed();
            return Sync(_results.HasRowsAsync(CancellationToken.None));
        }
    }

    /// <summary>Whether the reader is closed.</summary>
    public override bool IsClosed => _closed;

    /// <summary>Rows changed by the command's writes; -1 when it only read (as in Microsoft.Data.Sqlite).</summary>
    public override int RecordsAffected => _results.RecordsAffected;

    /// <summary>The value of column <paramref name="ordinal"/> in the current row.</summary>
    public override object this[int ordinal] => GetValue(ordinal);

    /// <summary>The value of column <paramref name="name"/> in the current row.</summary>
    public override object this[string name] => GetValue(GetOrdinal(name));

    /// <summary>Moves to the next row of the current result set.</summary>
    public override bool Read()
    {
        ThrowIfClosed();
        return Sync(_results.ReadAsync(CancellationToken.None));
    }

    /// <inheritdoc cref="Read"/>
    public override Task<bool> ReadAsync(CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        return _results.ReadAsync(cancellationToken).AsTask();
    }

    /// <summary>Moves to the next result set (skipping the rest of this one).</summary>
    public override bool NextResult()
    {
        ThrowIfClosed();
        return Sync(_results.NextResultAsync(CancellationToken.None));
    }

    /// <inheritdoc cref="NextResult"/>
    public override Task<bool> NextResultAsync(CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        return _results.NextResultAsync(cancellationToken).AsTask();
    }

    /// <summary>The name of column <paramref name="ordinal"/>.</summary>
    public override string GetName(int ordinal)
    {
        CheckOrdinal(ordinal);
        return _results.GetName(ordinal);
    }

    /// <summary>The ordinal of the column named <paramref name="name"/> (exact match first, then ignoring case).</summary>
    /// <exception cref="IndexOutOfRangeException">No column has that name.</exception>
    public override int GetOrdinal(string name)
    {
        ThrowIfClosed();
        int count = _results.FieldCount;
        for (int i = 0; i < count; i++)
        {
            if (string.Equals(_results.GetName(i), name, StringComparison.Ordinal))
                return i;
        }
        for (int i = 0; i < count; i++)
        {
            if (string.Equals(_results.GetName(i), name, StringComparison.OrdinalIgnoreCase))
                return i;
        }
        throw new IndexOutOfRangeException($"No column named '{name}'.");
    }

    /// <summary>The declared type of column <paramref name="ordinal"/>, or the storage class of its current value
    /// (INTEGER, REAL, TEXT, BLOB) for expressions.</summary>
    public override string GetDataTypeName(int ordinal)
    {
        CheckOrdinal(ordinal);
        string declared = _results.GetDeclaredType(ordinal);
        if (declared.Length > 0)
            return declared;
        return _results.OnRow ? SqlValue.TypeName(_results.GetValue(ordinal).Kind) : "BLOB";
    }

    /// <summary>The .NET type <see cref="GetValue"/> returns for column <paramref name="ordinal"/>: that of the
    /// current value, or from the declared type's affinity when there is no row or the value is NULL.</summary>
    public override Type GetFieldType(int ordinal)
    {
        CheckOrdinal(ordinal);
        if (_results.OnRow && _results.GetValue(ordinal) is { IsNull: false } value)
            return SqlValue.ClrType(value.Kind);
        return AffinityType(_results.GetDeclaredType(ordinal));
    }

    /// <summary>The value as long, double, string, byte[] or <see cref="DBNull.Value"/>.</summary>
    public override object GetValue(int ordinal) => Current(ordinal).ToObject();

    /// <summary>Copies the current row's values into <paramref name="values"/>; returns how many were copied.</summary>
    public override int GetValues(object[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        int count = Math.Min(values.Length, FieldCount);
        for (int i = 0; i < count; i++)
            values[i] = GetValue(i);
        return count;
    }

    /// <summary>Whether the value is SQL NULL.</summary>
    public override bool IsDBNull(int ordinal) => Current(ordinal).IsNull;

    /// <summary>Reads an integer as bool (non-zero is true).</summary>
    public override bool GetBoolean(int ordinal) => ValueReader.GetBoolean(Current(ordinal));

    /// <summary>Reads the value as a byte.</summary>
    public override byte GetByte(int ordinal) => checked((byte)GetInt64(ordinal));

    /// <summary>Copies bytes of a blob into <paramref name="buffer"/>; with a null buffer returns the blob's length.</summary>
    public override long GetBytes(int ordinal, long dataOffset, byte[]? buffer, int bufferOffset, int length)
    {
        SqlValue value = Current(ordinal);
        ReadOnlySpan<byte> blob = value.Kind == StorageClass.Blob ? value.Blob.Span : ValueReader.GetBlob(value);
        if (buffer is null)
            return blob.Length;
        int available = (int)Math.Max(0, Math.Min(length, blob.Length - dataOffset));
        blob.Slice((int)Math.Min(dataOffset, blob.Length), available).CopyTo(buffer.AsSpan(bufferOffset));
        return available;
    }

    /// <summary>Reads a one-character text (or an integer code) as char.</summary>
    public override char GetChar(int ordinal) => ValueReader.GetChar(Current(ordinal));

    /// <summary>Copies characters of a text into <paramref name="buffer"/>; with a null buffer returns the text's length.</summary>
    public override long GetChars(int ordinal, long dataOffset, char[]? buffer, int bufferOffset, int length)
    {
        string text = GetString(ordinal);
        if (buffer is null)
            return text.Length;
        int available = (int)Math.Max(0, Math.Min(length, text.Length - dataOffset));
        text.AsSpan((int)Math.Min(dataOffset, text.Length), available).CopyTo(buffer.AsSpan(bufferOffset));
        return available;
    }

    /// <summary>Reads text ("yyyy-MM-dd HH:mm:ss.FFFFFFF") or a Julian day number as DateTime.</summary>
    public override DateTime GetDateTime(int ordinal) => ValueReader.GetDateTime(Current(ordinal));

    /// <summary>Reads text with an offset (or a Julian day number, as UTC) as DateTimeOffset.</summary>
    public DateTimeOffset GetDateTimeOffset(int ordinal) => ValueReader.GetDateTimeOffset(Current(ordinal));

    /// <summary>Reads text ("d.hh:mm:ss.fffffff") or a number of days as TimeSpan.</summary>
    public TimeSpan GetTimeSpan(int ordinal) => ValueReader.GetTimeSpan(Current(ordinal));

    /// <summary>Reads text (or a number) as decimal.</summary>
    public override decimal GetDecimal(int ordinal) => ValueReader.GetDecimal(Current(ordinal));

    /// <summary>Reads the value as double.</summary>
    public override double GetDouble(int ordinal) => ValueReader.GetDouble(Current(ordinal));

    /// <summary>Reads the value as float.</summary>
    public override float GetFloat(int ordinal) => (float)GetDouble(ordinal);

    /// <summary>Reads a 16-byte blob or a Guid's text as Guid.</summary>
    public override Guid GetGuid(int ordinal) => ValueReader.GetGuid(Current(ordinal));

    /// <summary>Reads the value as a 16-bit integer.</summary>
    public override short GetInt16(int ordinal) => checked((short)GetInt64(ordinal));

    /// <summary>Reads the value as a 32-bit integer.</summary>
    public override int GetInt32(int ordinal) => checked((int)GetInt64(ordinal));

    /// <summary>Reads the value as a 64-bit integer.</summary>
    public override long GetInt64(int ordinal) => ValueReader.GetInt64(Current(ordinal));

    /// <summary>Reads the value as text.</summary>
    public override string GetString(int ordinal) => ValueReader.GetString(Current(ordinal));

    /// <summary>A read-only stream over a blob value.</summary>
    public override Stream GetStream(int ordinal) => new MemoryStream(ValueReader.GetBlob(Current(ordinal)), writable: false);

    /// <summary>Reads the value as <typeparamref name="T"/> (nullable types, enums, dates, Guid, Stream, ... included).</summary>
    /// <exception cref="InvalidCastException">The value cannot become <typeparamref name="T"/> (or is NULL for a non-nullable type).</exception>
    public override T GetFieldValue<T>(int ordinal) => (T)ValueReader.Get(Current(ordinal), typeof(T))!;

    /// <summary>Enumerates the rows as <see cref="IDataRecord"/>s.</summary>
    public override IEnumerator GetEnumerator() => new DbEnumerator(this, closeReader: false);

    /// <summary>A table describing the current result set's columns (name, ordinal, type, declared type).</summary>
    public override DataTable GetSchemaTable()
    {
        ThrowIfClosed();
        var table = new DataTable("SchemaTable");
        DataColumn name = table.Columns.Add(SchemaTableColumn.ColumnName, typeof(string));
        DataColumn ordinal = table.Columns.Add(SchemaTableColumn.ColumnOrdinal, typeof(int));
        DataColumn size = table.Columns.Add(SchemaTableColumn.ColumnSize, typeof(int));
        DataColumn precision = table.Columns.Add(SchemaTableColumn.NumericPrecision, typeof(short));
        DataColumn scale = table.Columns.Add(SchemaTableColumn.NumericScale, typeof(short));
        DataColumn dataType = table.Columns.Add(SchemaTableColumn.DataType, typeof(Type));
        DataColumn typeName = table.Columns.Add("DataTypeName", typeof(string));
        DataColumn allowNull = table.Columns.Add(SchemaTableColumn.AllowDBNull, typeof(bool));
        DataColumn isLong = table.Columns.Add(SchemaTableColumn.IsLong, typeof(bool));
        for (int i = 0; i < _results.FieldCount; i++)
        {
            DataRow row = table.NewRow();
            row[name] = _results.GetName(i);
            row[ordinal] = i;
            row[size] = -1;
            row[precision] = DBNull.Value;
            row[scale] = DBNull.Value;
            row[dataType] = AffinityType(_results.GetDeclaredType(i));
            row[typeName] = _results.GetDeclaredType(i);
            row[allowNull] = true;
            row[isLong] = false;
            table.Rows.Add(row);
        }
        return table;
    }

    /// <summary>Closes the reader, releasing a server cursor still open.</summary>
    public override void Close() => CloseAsync().GetAwaiter().GetResult();

    /// <inheritdoc cref="Close"/>
    public override async Task CloseAsync()
    {
        if (_closed)
            return;
        _closed = true;
        await _results.DisposeAsync().ConfigureAwait(false);
        if (_behavior.HasFlag(CommandBehavior.CloseConnection))
            await _connection.CloseAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
            Close();
        base.Dispose(disposing);
    }

    /// <summary>Closes the reader.</summary>
    public override async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The .NET type for a declared column type, by SQLite's affinity rules.</summary>
    private static Type AffinityType(string declared)
    {
        string upper = declared.ToUpperInvariant();
        if (upper.Contains("INT", StringComparison.Ordinal))
            return typeof(long);
        if (upper.Contains("CHAR", StringComparison.Ordinal) || upper.Contains("CLOB", StringComparison.Ordinal) || upper.Contains("TEXT", StringComparison.Ordinal))
            return typeof(string);
        if (upper.Length == 0 || upper.Contains("BLOB", StringComparison.Ordinal))
            return typeof(byte[]);
        return typeof(double);
    }

    private SqlValue Current(int ordinal)
    {
        CheckOrdinal(ordinal);
        if (!_results.OnRow)
            throw new InvalidOperationException("No current row: call Read first (and check that it returned true).");
        return _results.GetValue(ordinal);
    }

    private void CheckOrdinal(int ordinal)
    {
        ThrowIfClosed();
        if ((uint)ordinal >= (uint)_results.FieldCount)
            throw new IndexOutOfRangeException($"Column ordinal {ordinal} is out of range (the result has {_results.FieldCount} columns).");
    }

    private void ThrowIfClosed()
    {
        if (_closed)
            throw new InvalidOperationException("The reader is closed.");
    }

    private static T Sync<T>(ValueTask<T> pending) =>
        pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
}
