namespace RaftSql.Gateway;

/// <summary>
/// How a read may run, as <see cref="RequestRouter.PrepareLocalReadAsync"/> decided: here, or on the leader
/// (<see cref="Here"/> false: a lease read asked of a follower). A lease read here holds only until
/// <see cref="LeaseExpiry"/>: the caller checks <see cref="StillHolds"/> after it has read (its SQLite
/// snapshot taken), and a read that finished after the lease ran out is not returned; it is confirmed with a
/// ReadIndex round and read again (<see cref="RequestRouter.ConfirmLateLeaseReadAsync"/>). Nor is one whose lease
/// the host gave up early (<see cref="Hosting.HostStatus.LeaseGeneration"/>): after a leadership transfer the
/// target may lead and take writes long before the clock ends the lease.
/// </summary>
internal readonly record struct ReadPermit(bool Here, long LeaseExpiry, TimeProvider? Clock = null,
    Hosting.RaftHost? Host = null, ulong Generation = 0)
{
    /// <summary>The read runs on the leader.</summary>
    public static ReadPermit OnLeader { get; } = new(false, 0);

    /// <summary>The read runs here, with no time limit.</summary>
    public static ReadPermit Granted { get; } = new(true, long.MaxValue);

    /// <summary>The read runs here while the leader lease holds.</summary>
    public static ReadPermit UnderLease(long expiry, TimeProvider clock, Hosting.RaftHost host, ulong generation) =>
        new(true, expiry, clock, host, generation);

    /// <summary>True when what was read here may be returned: always, except a lease read whose lease ran out or
    /// was revoked since the permit was granted.</summary>
    public bool StillHolds => LeaseExpiry == long.MaxValue
        || ((Clock ?? TimeProvider.System).GetTimestamp() < LeaseExpiry && (Host is null || Host.LeaseGeneration == Generation));
}
