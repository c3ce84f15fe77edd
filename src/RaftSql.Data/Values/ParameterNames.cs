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
        Walk(sql, (start, end) => names.Add(sql[start..end]));
        return names;
    }

    /// <summary>
    /// Gives every anonymous <c>?</c> its number (<c>?1</c>, <c>?2</c>, ... as SQLite numbers them), so
    /// positional values can be bound by name on the node.
    /// </summary>
    public static string NumberAnonymous(string sql)
    {
        var numbered = new System.Text.StringBuilder(sql.Length + 8);
        int copied = 0;
        int last = 0;
        Walk(sql, (start, end) =>
        {
            if (sql[start] != '?')
                return;
            if (end > start + 1)
            {
                last = Math.Max(last, int.Parse(sql.AsSpan(start + 1, end - start - 1), System.Globalization.CultureInfo.InvariantCulture));
                return;
            }
            numbered.Append(sql, copied, end - copied).Append(++last);
            copied = end;
        });
        return copied == 0 ? sql : numbered.Append(sql, copied, sql.Length - copied).ToString();
    }

    /// <summary>Calls <paramref name="found"/> with the span of each parameter token outside literals and comments.</summary>
    private static void Walk(string sql, Action<int, int> found)
    {
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
                        found(start, i);
                    break;
                case '?':
                    int mark = i++;
                    while (i < sql.Length && char.IsAsciiDigit(sql[i]))
                        i++;
                    found(mark, i);
                    break;
                default:
                    i++;
                    break;
            }
        }
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
