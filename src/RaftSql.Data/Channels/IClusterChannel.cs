using RaftSql.Protocol;

namespace RaftSql.Data.Channels;

/// <summary>
/// How an open <see cref="RaftSqlConnection"/> reaches the cluster: over TCP to a node of its list, or by
/// direct calls into a node hosted in this process. Both answer the client protocol's requests.
/// </summary>
internal interface IClusterChannel : IAsyncDisposable
{
    /// <summary>Where requests go now ("host:port" or "in-process node N"), for messages.</summary>
    string Target { get; }

    /// <summary>
    /// Sends <paramref name="request"/> and returns the answer. An Error answer is thrown as
    /// <see cref="RaftSqlException"/>; a lost connection throws Unavailable (the request may have run).
    /// </summary>
    Task<ClientResponse> SendAsync(ClientRequest request, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Makes later requests go to the leader (interactive transactions are pinned there).</summary>
    Task MoveToLeaderAsync(TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Closes the channel without handing its connection to the pool (its state is in doubt,
    /// e.g. a transaction could not be rolled back).</summary>
    ValueTask AbandonAsync();

    /// <summary>Direct reads on an in-process node's database files; null when the cluster is remote.</summary>
    ILocalReads? LocalReads { get; }
}
