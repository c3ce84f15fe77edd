using RaftSql.Protocol;

namespace RaftSql.Gateway;

/// <summary>Where the gateway forwards writes and lease reads: a client connection to the leader in
/// production (<see cref="LeaderLink"/>), the simulated network in the whole-node simulator.</summary>
internal interface ILeaderLink
{
    /// <summary>Sends <paramref name="request"/> to node <paramref name="leaderId"/> and returns its answer; throws
    /// <see cref="LeaderUnreachableException"/> when nothing was sent.</summary>
    Task<ClientResponse> SendAsync(ulong leaderId, ClientRequest request, CancellationToken cancellationToken);
}
