using RaftSql.Raft;

namespace RaftSql.Hosting;

/// <summary>
/// What the Raft loop last published about itself: read from any thread without entering the loop.
/// </summary>
internal sealed record HostStatus(
    ulong Term,
    RaftState State,
    ulong LeaderId,
    ulong Commit,
    ulong Applied,
    Membership Membership,
    bool LeaseValid,
    bool AcceptsWrites)
{
    public static HostStatus Initial { get; } = new(0, RaftState.Follower, 0, 0, 0, Membership.Empty, false, false);

    public bool IsLeader => State == RaftState.Leader;
}
