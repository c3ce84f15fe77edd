using RaftSql.Protocol;

namespace RaftSql.Data.Values;

/// <summary>SQLite's five storage classes.</summary>
internal enum StorageClass : byte
{
    Null,
    Integer,
    Real,
    Text,
    Blob,
}

/// <summary>One result value as SQLite stored it, before any conversion to a .NET type.</summary>
internal readonly struct SqlValue
{
    private readonly long _integer;
    private readonly double _real;
    private readonly string? _text;
    private readonly ReadOnlyMemory<byte> _blob;

    private SqlValue(StorageClass kind, long integer = 0, double real = 0, string? text = null, ReadOnlyMemory<byte> blob = default)
    {
        Kind = kind;
        _integer = integer;
        _real = real;
        _text = text;
        _blob = blob;
    }

    public StorageClass Kind { get; }

    public bool IsNull => Kind == StorageClass.Null;

    public long Integer => _integer;

    public double Real => _real;

    public string Text => _text ?? "";

    public ReadOnlyMemory<byte> Blob => _blob;

    public static SqlValue Null => default;

    public static SqlValue FromInteger(long value) => new(StorageClass.Integer, integer: value);

    public static SqlValue FromReal(double value) => new(StorageClass.Real, real: value);

    public static SqlValue FromText(string value) => new(StorageClass.Text, text: value);

    public static SqlValue FromBlob(ReadOnlyMemory<byte> value) => new(StorageClass.Blob, blob: value);

    public static SqlValue FromWire(Value? value) => value?.KindCase switch
    {
        Value.KindOneofCase.Integer => FromInteger(value.Integer),
        Value.KindOneofCase.Real => FromReal(value.Real),
        Value.KindOneofCase.Text => FromText(value.Text),
        Value.KindOneofCase.Blob => FromBlob(value.Blob.Memory),
        _ => Null,
    };

    /// <summary>The value boxed as ADO.NET's GetValue returns it: long, double, string, byte[] or DBNull.</summary>
    public object ToObject() => Kind switch
    {
        StorageClass.Integer => _integer,
        StorageClass.Real => _real,
        StorageClass.Text => Text,
        StorageClass.Blob => _blob.ToArray(),
        _ => DBNull.Value,
    };

    /// <summary>The .NET type <see cref="ToObject"/> returns for this storage class.</summary>
    public static Type ClrType(StorageClass kind) => kind switch
    {
        StorageClass.Integer => typeof(long),
        StorageClass.Real => typeof(double),
        StorageClass.Text => typeof(string),
        StorageClass.Blob => typeof(byte[]),
        _ => typeof(DBNull),
    };

    /// <summary>SQLite's name of a storage class, as Microsoft.Data.Sqlite reports it for untyped columns.</summary>
    public static string TypeName(StorageClass kind) => kind switch
    {
        StorageClass.Integer => "INTEGER",
        StorageClass.Real => "REAL",
        StorageClass.Text => "TEXT",
        StorageClass.Blob => "BLOB",
        _ => "BLOB",
    };
}
