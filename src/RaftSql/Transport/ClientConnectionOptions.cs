namespace RaftSql.Transport;

internal sealed record ClientConnectionOptions
{
    public TransportOptions Transport { get; init; } = new();

    /// <summary>Time limit of a request sent without its own timeout.</summary>
    public TimeSpan DefaultTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The id of the node this connection is made from (0 for an application), announced in
    /// the handshake and used by the <see cref="Faults"/> policy.</summary>
    public ulong LocalNodeId { get; init; }

    /// <summary>Network faults to simulate (tests only).</summary>
    public FaultInjector? Faults { get; init; }
}
