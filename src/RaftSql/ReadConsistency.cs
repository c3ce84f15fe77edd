namespace RaftSql;

/// <summary>How fresh a read must be. See DESIGN.md section 7.</summary>
public enum ReadConsistency
{
    /// <summary>Read the local database as it is; on a follower it may be a few milliseconds behind.</summary>
    Local = 0,

    /// <summary>Read-your-writes: wait until this node has applied the caller's last write.</summary>
    Session = 1,

    /// <summary>On the leader, while its lease holds, read without a round trip; elsewhere forwarded.</summary>
    Lease = 2,

    /// <summary>Confirm the leader with a quorum (ReadIndex), wait until applied locally, then read.</summary>
    Linearizable = 3,
}
