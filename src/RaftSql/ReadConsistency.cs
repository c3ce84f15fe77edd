namespace RaftSql;

/// <summary>How fresh a read must be. See DESIGN.md section 7.</summary>
public enum ReadConsistency
{
    /// <summary>Read the local database as it is; on a follower it may be a few milliseconds behind. A node
    /// whose Raft loop failed (<see cref="NodeHealthState.Failed"/>) still serves these, from a state that no
    /// longer advances; check <see cref="Node.Health"/>.</summary>
    Local = 0,

    /// <summary>Read-your-writes: wait until this node has applied the caller's last write.</summary>
    Session = 1,

    /// <summary>On the leader, while its lease holds, read without a round trip (once it applied what it had
    /// committed when the read began); elsewhere forwarded. The lease is timed by the clock from the heartbeat
    /// round a quorum acknowledged; a read that finishes after it ran out is confirmed by a ReadIndex round and
    /// read again.</summary>
    Lease = 2,

    /// <summary>Confirm the leader with a quorum (ReadIndex), wait until applied locally, then read.</summary>
    Linearizable = 3,
}
