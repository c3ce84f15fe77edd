using Microsoft.Extensions.Logging;

namespace RaftSql.Cli.Commands;

/// <summary>What `raftsql node` was asked to run.</summary>
internal sealed record NodeSettings(
    ulong Id,
    string Address,
    string DataDirectory,
    string? BindAddress,
    IReadOnlyList<NodeInfo> Cluster,
    IReadOnlyList<string> Join,
    NodeRole JoinRole,
    TimeSpan HeartbeatInterval,
    TimeSpan ElectionTimeout,
    TimeSpan CommitTimeout,
    LogLevel LogLevel)
{
    /// <summary>
    /// The founding members: the --cluster list; none when joining; a cluster of this node alone
    /// when neither is given (so a single `raftsql node` is immediately usable).
    /// </summary>
    public IReadOnlyList<NodeInfo> InitialCluster =>
        Cluster.Count > 0 ? Cluster : Join.Count > 0 ? [] : [new NodeInfo(Id, Address)];
}
