namespace RaftSql.Raft;

/// <summary>A read-only picture of a member's state.</summary>
public sealed record RaftStatus(
    ulong Id,
    ulong Term,
    RaftState State,
    ulong Leader,
    ulong Commit,
    ulong Applied,
    ulong LastIndex,
    Membership Membership,
    IReadOnlyDictionary<ulong, PeerProgress> Progress);
