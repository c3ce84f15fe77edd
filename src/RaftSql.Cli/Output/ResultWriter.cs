using System.Globalization;
using System.Text;
using Spectre.Console;

namespace RaftSql.Cli.Output;

/// <summary>Prints a <see cref="QueryResult"/> as a Spectre table or as RFC 4180 CSV.</summary>
internal static class ResultWriter
{
    public static void Write(CliConsole console, QueryResult result, ResultFormat format)
    {
        if (format == ResultFormat.Csv)
        {
            // Raw text: Spectre must not interpret brackets in the data as markup.
            console.Out.Profile.Out.Writer.Write(ToCsv(result));
            console.Out.Profile.Out.Writer.Flush();
            return;
        }
        var table = new Table();
        foreach (var column in result.Columns)
            table.AddColumn(new TableColumn(Markup.Escape(column)));
        foreach (var row in result.Rows)
            table.AddRow(row.Select(v => new Text(Display(v))).ToArray());
        console.Out.Write(table);
        console.Out.WriteLine($"({result.Rows.Count} row{(result.Rows.Count == 1 ? "" : "s")})");
    }

    public static string ToCsv(QueryResult result)
    {
        var csv = new StringBuilder();
        csv.AppendJoin(',', result.Columns.Select(Quote)).Append("\r\n");
        foreach (var row in result.Rows)
            csv.AppendJoin(',', row.Select(v => v is DBNull or null ? "" : Quote(Display(v)))).Append("\r\n");
        return csv.ToString();
    }

    /// <summary>Numbers in invariant culture (round-trippable), blobs as SQL hex literals, NULL as NULL.</summary>
    public static string Display(object? value) => value switch
    {
        null or DBNull => "NULL",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        byte[] bytes => "X'" + Convert.ToHexString(bytes) + "'",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    private static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : field;
}
