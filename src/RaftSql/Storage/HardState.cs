namespace RaftSql.Storage;

/// <summary>The Raft state that must survive a restart besides the log: current term, vote in that term, commit index.</summary>
public readonly record struct HardState(ulong Term, ulong Vote, ulong Commit);
