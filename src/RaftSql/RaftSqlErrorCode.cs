namespace RaftSql;

/// <summary>What went wrong, in a form callers can branch on.</summary>
public enum RaftSqlErrorCode
{
    /// <summary>No leader is known: the node is cut off from the majority or an election is running.</summary>
    NoLeader = 1,

    /// <summary>The operation needs the leader and this node is not it.</summary>
    NotLeader = 2,

    /// <summary>A write was proposed but leadership was lost (or it timed out) before it was known to commit.
    /// It may or may not have been applied.</summary>
    OutcomeUnknown = 3,

    /// <summary>The operation did not finish within its time limit.</summary>
    Timeout = 4,

    /// <summary>The named database does not exist on the node.</summary>
    UnknownDatabase = 5,

    /// <summary>A replicated frame set is malformed (wrong page size, short page, page number 0, ...).</summary>
    InvalidFrames = 6,

    /// <summary>The Raft log on disk is corrupt in a way that cannot be repaired by truncating a torn tail.</summary>
    CorruptLog = 7,

    /// <summary>A peer or client sent bytes that do not follow the wire protocol.</summary>
    ProtocolError = 8,

    /// <summary>A message exceeded the configured maximum size.</summary>
    MessageTooLarge = 9,

    /// <summary>SQLite reported an error for the statement.</summary>
    SqlError = 10,

    /// <summary>The node is stopping or stopped.</summary>
    NodeStopped = 11,

    /// <summary>A membership change is already in progress, or the requested change is not allowed.</summary>
    MembershipChangeRejected = 12,

    /// <summary>A snapshot could not be created, transferred or installed.</summary>
    SnapshotFailed = 13,

    /// <summary>The node could not be reached.</summary>
    Unavailable = 14,

    /// <summary>The node cannot listen on its address: another process (often a running node) already does.</summary>
    AddressInUse = 15,

    /// <summary>The node's data directory is held by another node (in this process or another).</summary>
    DataDirectoryInUse = 16,
}
