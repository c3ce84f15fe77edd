namespace RaftSql.Raft;

public enum ProposeStatus
{
    Accepted,
    /// <summary>This member is not the leader; <see cref="ProposeResult.LeaderHint"/> names the leader if known (0 if not).</summary>
    NotLeader,
    TransferInProgress,
    /// <summary>Flow control: too many uncommitted bytes, or the entry is larger than a message may be.</summary>
    Dropped,
    /// <summary>A membership change is pending, or the leader has not committed an entry of its term yet.</summary>
    ConfChangeNotReady,
    /// <summary>The membership change makes no sense (removing an unknown or the last voter...).</summary>
    InvalidConfChange,
}

/// <summary>The outcome of a proposal. Accepted means appended at (Index, Term), not committed.</summary>
public readonly record struct ProposeResult(ProposeStatus Status, ulong Index, ulong Term, ulong LeaderHint)
{
    public bool Accepted => Status == ProposeStatus.Accepted;

    internal static ProposeResult Fail(ProposeStatus status, ulong leader) => new(status, 0, 0, leader);
}
