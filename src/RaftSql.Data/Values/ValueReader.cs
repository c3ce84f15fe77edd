using System.Globalization;
using System.Text;

namespace RaftSql.Data.Values;

/// <summary>
/// Reads SQLite storage classes back as .NET types with Microsoft.Data.Sqlite's conventions: dates and
/// times from text (or Julian days when stored as numbers), decimals from text, Guids from 16-byte blobs
/// or text. A value that cannot become the requested type throws <see cref="InvalidCastException"/>.
/// </summary>
internal static class ValueReader
{
    private const double UnixEpochJulianDay = 2440587.5;

    public static long GetInt64(in SqlValue value) => value.Kind switch
    {
        StorageClass.Integer => value.Integer,
        StorageClass.Real => (long)value.Real,
        StorageClass.Text => Parse(value, s => long.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture)),
        _ => throw Cannot(value, typeof(long)),
    };

    public static double GetDouble(in SqlValue value) => value.Kind switch
    {
        StorageClass.Real => value.Real,
        StorageClass.Integer => value.Integer,
        StorageClass.Text => Parse(value, s => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture)),
        _ => throw Cannot(value, typeof(double)),
    };

    public static string GetString(in SqlValue value) => value.Kind switch
    {
        StorageClass.Text => value.Text,
        StorageClass.Integer => value.Integer.ToString(CultureInfo.InvariantCulture),
        StorageClass.Real => value.Real.ToString("R", CultureInfo.InvariantCulture),
        StorageClass.Blob => Encoding.UTF8.GetString(value.Blob.Span),
        _ => throw Cannot(value, typeof(string)),
    };

    public static byte[] GetBlob(in SqlValue value) => value.Kind switch
    {
        StorageClass.Blob => value.Blob.ToArray(),
        StorageClass.Text => Encoding.UTF8.GetBytes(value.Text),
        _ => throw Cannot(value, typeof(byte[])),
    };

    public static bool GetBoolean(in SqlValue value) => GetInt64(value) != 0;

    public static char GetChar(in SqlValue value) =>
        value.Kind == StorageClass.Text && value.Text.Length == 1 ? value.Text[0] : checked((char)GetInt64(value));

    public static decimal GetDecimal(in SqlValue value) => value.Kind switch
    {
        StorageClass.Text => Parse(value, s => decimal.Parse(s, NumberStyles.Number | NumberStyles.AllowExponent, CultureInfo.InvariantCulture)),
        StorageClass.Integer => value.Integer,
        StorageClass.Real => (decimal)value.Real,
        _ => throw Cannot(value, typeof(decimal)),
    };

    public static DateTime GetDateTime(in SqlValue value) => value.Kind switch
    {
        StorageClass.Text => Parse(value, s => DateTime.Parse(s, CultureInfo.InvariantCulture)),
        StorageClass.Integer or StorageClass.Real => FromJulianDay(GetDouble(value)),
        _ => throw Cannot(value, typeof(DateTime)),
    };

    public static DateTimeOffset GetDateTimeOffset(in SqlValue value) => value.Kind switch
    {
        StorageClass.Text => Parse(value, s => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture)),
        StorageClass.Integer or StorageClass.Real => new DateTimeOffset(FromJulianDay(GetDouble(value)), TimeSpan.Zero),
        _ => throw Cannot(value, typeof(DateTimeOffset)),
    };

    public static DateOnly GetDateOnly(in SqlValue value) => value.Kind switch
    {
        StorageClass.Text => Parse(value, s => DateOnly.Parse(s, CultureInfo.InvariantCulture)),
        StorageClass.Integer or StorageClass.Real => DateOnly.FromDateTime(FromJulianDay(GetDouble(value))),
        _ => throw Cannot(value, typeof(DateOnly)),
    };

    public static TimeOnly GetTimeOnly(in SqlValue value) => value.Kind switch
    {
        StorageClass.Text => Parse(value, s => TimeOnly.Parse(s, CultureInfo.InvariantCulture)),
        StorageClass.Integer or StorageClass.Real => TimeOnly.FromTimeSpan(TimeSpan.FromDays(GetDouble(value))),
        _ => throw Cannot(value, typeof(TimeOnly)),
    };

    public static TimeSpan GetTimeSpan(in SqlValue value) => value.Kind switch
    {
        StorageClass.Text => Parse(value, s => TimeSpan.Parse(s, CultureInfo.InvariantCulture)),
        StorageClass.Integer or StorageClass.Real => TimeSpan.FromDays(GetDouble(value)),
        _ => throw Cannot(value, typeof(TimeSpan)),
    };

    public static Guid GetGuid(in SqlValue value) => value.Kind switch
    {
        StorageClass.Blob when value.Blob.Length == 16 => new Guid(value.Blob.Span),
        StorageClass.Blob => Parse(value, s => Guid.Parse(s)),
        StorageClass.Text => Parse(value, s => Guid.Parse(s)),
        _ => throw Cannot(value, typeof(Guid)),
    };

    /// <summary>The value as <paramref name="type"/> (nullable and enum types included), boxed.</summary>
    public static object? Get(in SqlValue value, Type type)
    {
        Type? underlying = Nullable.GetUnderlyingType(type);
        if (value.IsNull)
        {
            if (type == typeof(DBNull))
                return DBNull.Value;
            if (underlying is not null || !type.IsValueType)
                return null;
            throw Cannot(value, type);
        }

        type = underlying ?? type;
        if (type.IsEnum)
            return Enum.ToObject(type, GetInt64(value));
        if (type == typeof(object))
            return value.ToObject();
        if (type == typeof(long)) return GetInt64(value);
        if (type == typeof(int)) return checked((int)GetInt64(value));
        if (type == typeof(short)) return checked((short)GetInt64(value));
        if (type == typeof(byte)) return checked((byte)GetInt64(value));
        if (type == typeof(sbyte)) return checked((sbyte)GetInt64(value));
        if (type == typeof(ushort)) return checked((ushort)GetInt64(value));
        if (type == typeof(uint)) return checked((uint)GetInt64(value));
        if (type == typeof(ulong)) return unchecked((ulong)GetInt64(value));
        if (type == typeof(bool)) return GetBoolean(value);
        if (type == typeof(double)) return GetDouble(value);
        if (type == typeof(float)) return (float)GetDouble(value);
        if (type == typeof(decimal)) return GetDecimal(value);
        if (type == typeof(string)) return GetString(value);
        if (type == typeof(char)) return GetChar(value);
        if (type == typeof(byte[])) return GetBlob(value);
        if (type == typeof(DateTime)) return GetDateTime(value);
        if (type == typeof(DateTimeOffset)) return GetDateTimeOffset(value);
        if (type == typeof(DateOnly)) return GetDateOnly(value);
        if (type == typeof(TimeOnly)) return GetTimeOnly(value);
        if (type == typeof(TimeSpan)) return GetTimeSpan(value);
        if (type == typeof(Guid)) return GetGuid(value);
        if (type == typeof(Stream)) return new MemoryStream(GetBlob(value), writable: false);
        throw Cannot(value, type);
    }

    private static DateTime FromJulianDay(double julianDay) =>
        DateTime.UnixEpoch.AddMilliseconds(Math.Round((julianDay - UnixEpochJulianDay) * 86_400_000.0));

    private static T Parse<T>(in SqlValue value, Func<string, T> parse)
    {
        string text = value.Kind == StorageClass.Blob ? Encoding.UTF8.GetString(value.Blob.Span) : value.Text;
        try
        {
            return parse(text);
        }
        catch (Exception ex) when (ex is FormatException or OverflowException)
        {
            throw new InvalidCastException($"The text '{Shorten(text)}' cannot be read as {typeof(T).Name}.", ex);
        }
    }

    private static InvalidCastException Cannot(in SqlValue value, Type type) => value.IsNull
        ? new InvalidCastException($"The value is NULL; read it as a nullable type or check IsDBNull first (wanted {type.Name}).")
        : new InvalidCastException($"A SQLite {SqlValue.TypeName(value.Kind)} value cannot be read as {type.Name}.");

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
