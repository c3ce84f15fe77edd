namespace RaftSql.Transport;

/// <summary>Limits shared by both ends of every connection.</summary>
internal sealed record TransportOptions
{
    public const int DefaultMaxMessageSize = 64 * 1024 * 1024;

    /// <summary>Largest protobuf body accepted or sent, in bytes. Checked on the length prefix, before
    /// any buffer for the body exists.</summary>
    public int MaxMessageSize { get; init; } = DefaultMaxMessageSize;

    /// <summary>How long a new connection may take to complete the handshake.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long an outgoing TCP connect may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
