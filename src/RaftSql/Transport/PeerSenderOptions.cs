namespace RaftSql.Transport;

internal sealed record PeerSenderOptions
{
    public TransportOptions Transport { get; init; } = new();

    /// <summary>Messages waiting for the connection; when full, the oldest is dropped (Raft
    /// retransmits, and the newest message carries the most recent state).</summary>
    public int QueueCapacity { get; init; } = 4096;

    /// <summary>Most messages written before one flush.</summary>
    public int MaxBatch { get; init; } = 256;

    /// <summary>First wait after a failed connect; doubles up to <see cref="MaxReconnectDelay"/>.</summary>
    public TimeSpan InitialReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(2);
}
