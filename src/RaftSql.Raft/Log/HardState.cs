namespace RaftSql.Raft;

/// <summary>The state a member must persist before it sends any message that depends on it.</summary>
public readonly record struct HardState(ulong Term, ulong Vote, ulong Commit);
