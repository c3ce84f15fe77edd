namespace RaftSql.Histories;

/// <summary>What a checker found: nothing (<see cref="Ok"/>) or a list of anomalies in words.</summary>
public sealed record CheckResult(IReadOnlyList<string> Anomalies)
{
    /// <summary>A result without anomalies.</summary>
    public static CheckResult Valid { get; } = new([]);

    /// <summary>True when no anomaly was found.</summary>
    public bool Ok => Anomalies.Count == 0;

    /// <summary>This result's anomalies followed by <paramref name="other"/>'s.</summary>
    public CheckResult Concat(CheckResult other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return other.Ok ? this : Ok ? other : new CheckResult([.. Anomalies, .. other.Anomalies]);
    }

    /// <inheritdoc />
    public override string ToString() => Ok ? "ok" : $"{Anomalies.Count} anomalies: " + string.Join("; ", Anomalies.Take(20));
}
