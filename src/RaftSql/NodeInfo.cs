namespace RaftSql;

/// <summary>A member of the cluster: its id, the address peers and clients dial, and its role.</summary>
public sealed record NodeInfo(ulong Id, string Address, NodeRole Role = NodeRole.Voter);

/// <summary>A member as <see cref="ClusterClient.GetClusterAsync"/> reports it.</summary>
public sealed record ClusterMember(ulong Id, string Address, NodeRole Role, bool IsLeader);
