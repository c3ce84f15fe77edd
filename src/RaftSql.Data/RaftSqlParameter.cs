using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;

namespace RaftSql.Data;

/// <summary>
/// A statement parameter. Named parameters match <c>@name</c>, <c>:name</c> or <c>$name</c> in the SQL
/// (the prefix may be left out of <see cref="ParameterName"/>); a parameter without a name binds by
/// position to <c>?</c>. Values are converted to SQLite's storage classes exactly as Microsoft.Data.Sqlite
/// converts them (bool and enums as integers, decimal and dates as text, Guid as upper-case text or, with
/// <see cref="DbType.Binary"/>, a 16-byte blob).
/// </summary>
public sealed class RaftSqlParameter : DbParameter
{
    private string _parameterName = "";
    private string _sourceColumn = "";

    /// <summary>Creates an unnamed parameter with a NULL value.</summary>
    public RaftSqlParameter()
    {
    }

    /// <summary>Creates a parameter named <paramref name="name"/> holding <paramref name="value"/>.</summary>
    public RaftSqlParameter(string? name, object? value)
    {
        ParameterName = name;
        Value = value;
    }

    /// <summary>The type hint: only <see cref="DbType.Binary"/> (Guid as blob) and integer types (char as
    /// integer) change how a value is stored; the value's own type decides otherwise.</summary>
    public override DbType DbType { get; set; } = DbType.String;

    /// <summary>Only <see cref="ParameterDirection.Input"/> is supported.</summary>
    /// <exception cref="ArgumentException">Any other direction.</exception>
    public override ParameterDirection Direction
    {
        get => ParameterDirection.Input;
        set
        {
            if (value != ParameterDirection.Input)
                throw new ArgumentException($"RaftSql supports only input parameters, not {value}.", nameof(value));
        }
    }

    /// <summary>Ignored: SQLite accepts NULL anywhere a constraint allows it.</summary>
    public override bool IsNullable { get; set; }

    /// <summary>The name, with or without its prefix (<c>@</c>, <c>:</c>, <c>$</c>); empty binds by position.</summary>
    [AllowNull]
    public override string ParameterName
    {
        get => _parameterName;
        set => _parameterName = value ?? "";
    }

    /// <summary>When positive, text longer than this many characters (or blobs longer than this many bytes) is truncated.</summary>
    public override int Size { get; set; }

    /// <summary>The DataTable column this parameter is filled from (DbDataAdapter).</summary>
    [AllowNull]
    public override string SourceColumn
    {
        get => _sourceColumn;
        set => _sourceColumn = value ?? "";
    }

    /// <summary>Whether the source column may be null (DbDataAdapter).</summary>
    public override bool SourceColumnNullMapping { get; set; }

    /// <summary>The value; null and <see cref="DBNull.Value"/> both bind SQL NULL.</summary>
    public override object? Value { get; set; }

    /// <summary>Resets <see cref="DbType"/> to its default.</summary>
    public override void ResetDbType() => DbType = DbType.String;
}
