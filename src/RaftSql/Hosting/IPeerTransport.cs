using RaftSql.Raft;

namespace RaftSql.Hosting;

/// <summary>
/// The Raft loop's way out to its peers: TCP in production (<see cref="PeerNetwork"/>), a seeded
/// simulated network in the whole-node simulator.
/// </summary>
internal interface IPeerTransport : IAsyncDisposable
{
    /// <summary>Queues <paramref name="message"/>; false when the peer is unknown or not reachable right now.</summary>
    bool Send(Message message);

    /// <summary>The membership is authoritative for addresses: the transport follows it.</summary>
    void UpdateMembership(Membership membership);

    /// <summary>The address of <paramref name="id"/>, when known.</summary>
    string? AddressOf(ulong id);

    /// <summary>Records where <paramref name="id"/> can be reached (a peer that announced itself).</summary>
    void Learn(ulong id, string address);

    /// <summary>Streams the snapshot data in <paramref name="path"/> to <paramref name="message"/>'s recipient, then
    /// the Snapshot message itself; throws when it could not.</summary>
    Task SendSnapshotAsync(Message message, string path, CancellationToken cancellationToken);
}
