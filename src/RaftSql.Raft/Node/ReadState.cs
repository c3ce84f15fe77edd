namespace RaftSql.Raft;

/// <summary>
/// A confirmed ReadIndex request: once the local state machine has applied <see cref="Index"/>, the read may
/// run. <see cref="Rejected"/>: the leader stepped down (or was no leader) before it confirmed the read; the
/// reader retries where the leader is now.
/// </summary>
public readonly record struct ReadState(ulong RequestId, ulong Index, bool Rejected = false);
