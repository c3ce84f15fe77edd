using System.Data;
using System.Globalization;
using Google.Protobuf;
using RaftSql.Protocol;

namespace RaftSql.Gateway;

/// <summary>
/// Turns .NET parameter values into SQLite storage classes with Microsoft.Data.Sqlite's conventions, so
/// a database written through either provider reads the same through both.
/// </summary>
internal static class ValueBinder
{
    public static Value ToWire(object? value, DbType? dbType = null, int size = 0)
    {
        if (value is null or DBNull)
        {
            return new Value { Null = true };
        }

        Type type = value.GetType();
        if (type.IsEnum)
        {
            // Enums travel as their underlying integer, whatever that type is.
            return new Value { Integer = EnumToInt64(value, Enum.GetUnderlyingType(type)) };
        }

        return value switch
        {
            bool b => new Value { Integer = b ? 1 : 0 },
            byte n => new Value { Integer = n },
            sbyte n => new Value { Integer = n },
            short n => new Value { Integer = n },
            ushort n => new Value { Integer = n },
            int n => new Value { Integer = n },
            uint n => new Value { Integer = n },
            long n => new Value { Integer = n },
            ulong n => new Value { Integer = unchecked((long)n) },
            double d => Real(d),
            float f => Real(f),
            decimal m => new Value { Text = m.ToString("0.0###########################", CultureInfo.InvariantCulture) },
            string s => new Value { Text = size > 0 && s.Length > size ? s[..size] : s },
            char c when IsInteger(dbType) => new Value { Integer = c },
            char c => new Value { Text = c.ToString() },
            byte[] bytes => new Value { Blob = ByteString.CopyFrom(bytes, 0, size > 0 ? Math.Min(size, bytes.Length) : bytes.Length) },
            ReadOnlyMemory<byte> memory => new Value { Blob = ByteString.CopyFrom(memory.Span) },
            DateTime dt => new Value { Text = dt.ToString(@"yyyy\-MM\-dd HH\:mm\:ss.FFFFFFF", CultureInfo.InvariantCulture) },
            DateTimeOffset dto => new Value { Text = dto.ToString(@"yyyy\-MM\-dd HH\:mm\:ss.FFFFFFFzzz", CultureInfo.InvariantCulture) },
            DateOnly d => new Value { Text = d.ToString(@"yyyy\-MM\-dd", CultureInfo.InvariantCulture) },
            TimeOnly t => new Value
            {
                Text = t.Ticks % TimeSpan.TicksPerSecond == 0
                    ? t.ToString("HH:mm:ss", CultureInfo.InvariantCulture)
                    : t.ToString("HH:mm:ss.fffffff", CultureInfo.InvariantCulture),
            },
            TimeSpan ts => new Value { Text = ts.ToString("c", CultureInfo.InvariantCulture) },
            // Microsoft.Data.Sqlite stores a Guid as upper-case text unless asked for a blob.
            Guid g when dbType == DbType.Binary => new Value { Blob = ByteString.CopyFrom(g.ToByteArray()) },
            Guid g => new Value { Text = g.ToString().ToUpperInvariant() },
            _ => throw new InvalidOperationException(
                $"No mapping exists from {type.FullName} to a SQLite type; pass a number, string, byte[], date, Guid or null."),
        };
    }

    private static Value Real(double value) => double.IsNaN(value)
        ? throw new InvalidOperationException("SQLite cannot store NaN; it would read back as NULL.")
        : new Value { Real = value };

    private static bool IsInteger(DbType? dbType) =>
        dbType is DbType.Byte or DbType.SByte or DbType.Int16 or DbType.Int32 or DbType.Int64
            or DbType.UInt16 or DbType.UInt32 or DbType.UInt64;

    private static long EnumToInt64(object value, Type underlying) =>
        underlying == typeof(ulong) ? unchecked((long)Convert.ToUInt64(value, CultureInfo.InvariantCulture))
            : Convert.ToInt64(value, CultureInfo.InvariantCulture);
}
