using System.Diagnostics;
using RaftSql.Raft;

namespace RaftSql.Hosting;

/// <summary>
/// What the Raft loop last published about itself: read from any thread without entering the loop.
/// <see cref="LeaseExpiry"/> is a Stopwatch timestamp (0: no lease): a lease read compares it with the clock
/// when it is served, so a loop that stalls cannot stretch its lease. <see cref="LeaseGeneration"/> names the
/// lease: the host bumps it whenever it gives a lease up early (a transfer, a step-down, a failed loop), and a
/// read permitted under an older generation is not returned (the clock alone would let it outlive a transfer).
/// </summary>
internal sealed record HostStatus(
    ulong Term,
    RaftState State,
    ulong LeaderId,
    ulong Commit,
    ulong Applied,
    Membership Membership,
    long LeaseExpiry,
    bool AcceptsWrites,
    ulong LeaseGeneration = 0)
{
    public static HostStatus Initial { get; } = new(0, RaftState.Follower, 0, 0, 0, Membership.Empty, 0, false);

    public bool IsLeader => State == RaftState.Leader;

    /// <summary>True while this leader's lease has not run out, by the system clock now.</summary>
    public bool HoldsLease => HoldsLeaseAt(Stopwatch.GetTimestamp());

    /// <summary>True while this leader's lease has not run out at timestamp <paramref name="now"/> of the node's clock.</summary>
    public bool HoldsLeaseAt(long now) => LeaseExpiry != 0 && now < LeaseExpiry;
}
