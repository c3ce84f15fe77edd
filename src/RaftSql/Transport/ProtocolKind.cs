namespace RaftSql.Transport;

/// <summary>Which protocol a connection speaks, named by its first bytes (see <see cref="Handshake"/>).</summary>
internal enum ProtocolKind : byte
{
    /// <summary>Raft traffic between nodes: <c>PeerEnvelope</c> frames, one direction only.</summary>
    Peer = 1,

    /// <summary>Request/response traffic: <c>ClientRequest</c> in, <c>ClientResponse</c> out.</summary>
    Client = 2,
}
