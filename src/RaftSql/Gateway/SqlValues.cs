using Microsoft.Data.Sqlite;
using RaftSql.Protocol;

namespace RaftSql.Gateway;

/// <summary>
/// Statement parameters and result values on the wire. Only SQLite's five storage classes travel;
/// richer .NET types are converted the way Microsoft.Data.Sqlite converts them before they get here.
/// </summary>
internal static class SqlValues
{
    /// <summary>A .NET value as a SQLite storage class, with Microsoft.Data.Sqlite's conventions.</summary>
    public static Value ToWire(object? value) => ValueBinder.ToWire(value);

    public static object FromWire(Value? value) => value?.KindCase switch
    {
        Value.KindOneofCase.Integer => value.Integer,
        Value.KindOneofCase.Real => value.Real,
        Value.KindOneofCase.Text => value.Text,
        Value.KindOneofCase.Blob => value.Blob.ToByteArray(),
        _ => DBNull.Value,
    };

    public static Parameter ToWireParameter(string name, object? value) => new() { Name = name, Value = ToWire(value) };

    /// <summary>Binds wire parameters: by name when named, else by position (?1, ?2, ...).</summary>
    public static void Bind(SqliteCommand command, IEnumerable<Parameter> parameters)
    {
        var position = 0;
        foreach (var p in parameters)
            command.Parameters.Add(new SqliteParameter(NameOf(p, ++position), FromWire(p.Value)));
    }

    /// <summary>Binds <paramref name="parameters"/> to a reused command, reusing its parameter objects when
    /// the names are the same as last time (the common case of one statement run again and again).</summary>
    public static void Rebind(SqliteCommand command, IReadOnlyList<Parameter> parameters)
    {
        var existing = command.Parameters;
        if (existing.Count == parameters.Count)
        {
            var same = true;
            for (var i = 0; i < parameters.Count && same; i++)
                same = existing[i].ParameterName == NameOf(parameters[i], i + 1);
            if (same)
            {
                for (var i = 0; i < parameters.Count; i++)
                    existing[i].Value = FromWire(parameters[i].Value);
                return;
            }
        }
        existing.Clear();
        Bind(command, parameters);
    }

    private static string NameOf(Parameter parameter, int position) =>
        string.IsNullOrEmpty(parameter.Name) ? "?" + position.ToString(System.Globalization.CultureInfo.InvariantCulture) : parameter.Name;

    /// <summary>Reads the current row of <paramref name="reader"/> in SQLite's storage classes.</summary>
    public static object[] ReadRow(SqliteDataReader reader)
    {
        var row = new object[reader.FieldCount];
        for (var i = 0; i < row.Length; i++)
            row[i] = reader.IsDBNull(i) ? DBNull.Value : reader.GetValue(i);
        return row;
    }
}
