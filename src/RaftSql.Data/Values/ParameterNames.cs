namespace RaftSql.Data.Values;

/// <summary>
/// Finds the parameter names a SQL text uses (<c>@p</c>, <c>:p</c>, <c>$p</c>), skipping string literals,
/// quoted identifiers and comments, so a parameter given without its prefix is sent under the name the
/// SQL spells.
/// </summary>
internal static class ParameterNames
{
    /// <summary>The name to send for <paramref name="name"/>: as given when it has a prefix or is empty,
    /// otherwise with the prefix the SQL uses (<c>@</c> when the SQL does not use it at all).</summary>
    public static string Resolve(string name, HashSet<string> namesInSql)
    {
        if (name.Length == 0 || name[0] is '@' or ':' or '$' or '?')
            return name;
        foreach (char prefix in "@:$")
        {
            string candidate = prefix + name;
            if (namesInSql.Contains(candidate))
                return candidate;
        }
        return "@" + name;
    }

    public static HashSet<string> Scan(string sql)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        int i = 0;
        while (i < sql.Length)
        {
            char c = sql[i];
            switch (c)
            {
                case '\'' or '"' or '`':
                    i = SkipQuoted(sql, i, c);
                    break;
                case '[':
                    i = SkipQuoted(sql, i, '[');
                    break;
                case '-' when i + 1 < sql.Length && sql[i + 1] == '-':
                    int endOfLine = sql.IndexOf('\n', i);
                    i = endOfLine < 0 ? sql.Length : endOfLine + 1;
                    break;
                case '/' when i + 1 < sql.Length && sql[i + 1] == '*':
                    int endOfComment = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                    i = endOfComment < 0 ? sql.Length : endOfComment + 2;
                    break;
                case '@' or ':' or '$':
                    int start = i++;
                    while (i < sql.Length && (char.IsLetterOrDigit(sql[i]) || sql[i] is '_' or '$'))
                        i++;
                    if (i > start + 1)
                        names.Add(sql[start..i]);
                    break;
                default:
                    i++;
                    break;
            }
        }
        return names;
    }

    private static int SkipQuoted(string sql, int start, char open)
    {
        char close = open == '[' ? ']' : open;
        int i = start + 1;
        while (i < sql.Length)
        {
            if (sql[i] == close)
            {
                // A doubled quote is an escaped quote inside the literal.
                if (close != ']' && i + 1 < sql.Length && sql[i + 1] == close)
                {
                    i += 2;
                    continue;
                }
                return i + 1;
            }
            i++;
        }
        return sql.Length;
    }
}
