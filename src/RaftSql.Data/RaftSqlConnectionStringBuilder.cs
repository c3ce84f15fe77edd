using System.Collections;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace RaftSql.Data;

/// <summary>
/// Builds and parses RaftSql connection strings, e.g.
/// <c>Nodes=127.0.0.1:9001,127.0.0.1:9002;Database=app.db;Read Consistency=Linearizable</c>.
/// Keywords are case-insensitive; <c>Command Timeout</c> is an alias of <c>Default Timeout</c>.
/// </summary>
public sealed class RaftSqlConnectionStringBuilder : DbConnectionStringBuilder
{
    private const string NodesKeyword = "Nodes";
    private const string DatabaseKeyword = "Database";
    private const string ReadConsistencyKeyword = "Read Consistency";
    private const string DefaultTimeoutKeyword = "Default Timeout";
    private const string CommandTimeoutAlias = "Command Timeout";
    private const string ConnectTimeoutKeyword = "Connect Timeout";
    private const string PoolingKeyword = "Pooling";

    private static readonly string[] Keywords =
        [NodesKeyword, DatabaseKeyword, ReadConsistencyKeyword, DefaultTimeoutKeyword, ConnectTimeoutKeyword, PoolingKeyword];

    private string _nodes = "";
    private string _database = "";
    private ReadConsistency _readConsistency = ReadConsistency.Session;
    private int _defaultTimeout = 30;
    private int _connectTimeout = 5;
    private bool _pooling = true;

    /// <summary>Creates an empty builder (all keywords at their defaults).</summary>
    public RaftSqlConnectionStringBuilder()
    {
    }

    /// <summary>Creates a builder holding the keywords of <paramref name="connectionString"/>.</summary>
    /// <exception cref="ArgumentException">An unknown keyword or a value of the wrong form.</exception>
    public RaftSqlConnectionStringBuilder(string? connectionString) => ConnectionString = connectionString;

    /// <summary>The nodes to reach, as a comma-separated <c>host:port</c> list, tried in order.</summary>
    public string Nodes
    {
        get => _nodes;
        set => base[NodesKeyword] = _nodes = value ?? "";
    }

    /// <summary>The name of the database in the cluster (for example <c>app.db</c>).</summary>
    public string Database
    {
        get => _database;
        set => base[DatabaseKeyword] = _database = value ?? "";
    }

    /// <summary>How fresh reads must be; <see cref="RaftSql.ReadConsistency.Session"/> (read-your-writes) by default.</summary>
    public ReadConsistency ReadConsistency
    {
        get => _readConsistency;
        set
        {
            if (!Enum.IsDefined(value))
                throw new ArgumentOutOfRangeException(nameof(value), value, "Unknown read consistency.");
            _readConsistency = value;
            base[ReadConsistencyKeyword] = value.ToString();
        }
    }

    /// <summary>The default <see cref="DbCommand.CommandTimeout"/> in seconds (0: no limit); 30 by default.</summary>
    public int DefaultTimeout
    {
        get => _defaultTimeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            base[DefaultTimeoutKeyword] = _defaultTimeout = value;
        }
    }

    /// <summary>How long, in seconds, connecting to one node may take before the next is tried; 5 by default.</summary>
    public int ConnectTimeout
    {
        get => _connectTimeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            base[ConnectTimeoutKeyword] = _connectTimeout = value;
        }
    }

    /// <summary>Whether closed connections keep their TCP connection for reuse; true by default.</summary>
    public bool Pooling
    {
        get => _pooling;
        set => base[PoolingKeyword] = _pooling = value;
    }

    /// <summary>The node addresses of <see cref="Nodes"/>, in order, without blanks.</summary>
    internal IReadOnlyList<string> NodeList =>
        _nodes.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The keywords this builder knows.</summary>
    public override ICollection Keys => Keywords;

    /// <summary>The values of <see cref="Keys"/>, in the same order.</summary>
    public override ICollection Values => Keywords.Select(k => this[k]).ToArray();

    /// <summary>Gets or sets the value of a keyword (or alias).</summary>
    /// <exception cref="ArgumentException">Unknown keyword or malformed value.</exception>
    [AllowNull]
    public override object this[string keyword]
    {
        get => Canonical(keyword) switch
        {
            NodesKeyword => Nodes,
            DatabaseKeyword => Database,
            ReadConsistencyKeyword => ReadConsistency,
            DefaultTimeoutKeyword => DefaultTimeout,
            ConnectTimeoutKeyword => ConnectTimeout,
            _ => Pooling,
        };
        set
        {
            string canonical = Canonical(keyword);
            if (value is null)
            {
                Remove(canonical);
                return;
            }
            string text = Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
            switch (canonical)
            {
                case NodesKeyword: Nodes = text; break;
                case DatabaseKeyword: Database = text; break;
                case ReadConsistencyKeyword: ReadConsistency = ParseConsistency(text); break;
                case DefaultTimeoutKeyword: DefaultTimeout = ParseInt(canonical, text); break;
                case ConnectTimeoutKeyword: ConnectTimeout = ParseInt(canonical, text); break;
                default: Pooling = ParseBool(canonical, text); break;
            }
        }
    }

    /// <summary>Resets <paramref name="keyword"/> to its default.</summary>
    public override bool Remove(string keyword)
    {
        string canonical = Canonical(keyword);
        switch (canonical)
        {
            case NodesKeyword: _nodes = ""; break;
            case DatabaseKeyword: _database = ""; break;
            case ReadConsistencyKeyword: _readConsistency = ReadConsistency.Session; break;
            case DefaultTimeoutKeyword: _defaultTimeout = 30; break;
            case ConnectTimeoutKeyword: _connectTimeout = 5; break;
            default: _pooling = true; break;
        }
        return base.Remove(canonical);
    }

    /// <summary>Resets every keyword to its default.</summary>
    public override void Clear()
    {
        base.Clear();
        foreach (string keyword in Keywords)
            Remove(keyword);
    }

    /// <summary>True when <paramref name="keyword"/> is a keyword or alias this builder knows.</summary>
    public override bool ContainsKey(string keyword) => TryCanonical(keyword, out _);

    /// <summary>Gets the value of <paramref name="keyword"/>; false when it is not a known keyword.</summary>
    public override bool TryGetValue(string keyword, [NotNullWhen(true)] out object? value)
    {
        if (!TryCanonical(keyword, out _))
        {
            value = null;
            return false;
        }
        value = this[keyword];
        return true;
    }

    /// <summary>True when <paramref name="keyword"/> was set explicitly.</summary>
    public override bool ShouldSerialize(string keyword) => TryCanonical(keyword, out string canonical) && base.ShouldSerialize(canonical);

    private static string Canonical(string keyword) =>
        TryCanonical(keyword, out string canonical) ? canonical
            : throw new ArgumentException($"Connection string keyword '{keyword}' is not supported. Known: {string.Join(", ", Keywords)}.", nameof(keyword));

    private static bool TryCanonical(string keyword, out string canonical)
    {
        ArgumentNullException.ThrowIfNull(keyword);
        string trimmed = keyword.Trim();
        if (string.Equals(trimmed, CommandTimeoutAlias, StringComparison.OrdinalIgnoreCase))
        {
            canonical = DefaultTimeoutKeyword;
            return true;
        }
        canonical = Keywords.FirstOrDefault(k => string.Equals(k, trimmed, StringComparison.OrdinalIgnoreCase)) ?? "";
        return canonical.Length > 0;
    }

    private static ReadConsistency ParseConsistency(string text) =>
        Enum.TryParse(text.Trim(), ignoreCase: true, out ReadConsistency parsed) && Enum.IsDefined(parsed) && !int.TryParse(text, out _)
            ? parsed
            : throw new ArgumentException($"'{text}' is not a read consistency; use Local, Session, Lease or Linearizable.");

    private static int ParseInt(string keyword, string text) =>
        int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int parsed)
            ? parsed
            : throw new ArgumentException($"{keyword} must be a whole number of seconds, not '{text}'.");

    private static bool ParseBool(string keyword, string text) => text.Trim().ToUpperInvariant() switch
    {
        "TRUE" or "YES" or "1" => true,
        "FALSE" or "NO" or "0" => false,
        _ => throw new ArgumentException($"{keyword} must be true or false, not '{text}'."),
    };
}
