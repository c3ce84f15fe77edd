using System.CommandLine.Parsing;
using System.Globalization;

namespace RaftSql.Cli.Input;

/// <summary>
/// Parses repeated --param name=value options. Values that read as integers become long, as numbers
/// double, the word null becomes NULL; anything else (or a value in single quotes) stays text.
/// </summary>
internal static class SqlParameters
{
    public static Dictionary<string, object?> Parse(ArgumentResult result)
    {
        var parameters = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var token in result.Tokens)
        {
            var eq = token.Value.IndexOf('=');
            if (eq <= 0)
            {
                result.AddError($"'{token.Value}' is not a parameter of the form name=value.");
                return parameters;
            }
            var name = token.Value[..eq];
            parameters[name] = ParseValue(token.Value[(eq + 1)..]);
        }
        return parameters;
    }

    internal static object? ParseValue(string text)
    {
        if (text.Length >= 2 && text[0] == '\'' && text[^1] == '\'')
            return text[1..^1];
        if (text.Equals("null", StringComparison.OrdinalIgnoreCase))
            return null;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
            return integer;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real))
            return real;
        return text;
    }
}
