namespace RaftSql.Raft;

/// <summary>A confirmed ReadIndex request: once the local state machine has applied <see cref="Index"/>, the read may run.</summary>
public readonly record struct ReadState(ulong RequestId, ulong Index);
