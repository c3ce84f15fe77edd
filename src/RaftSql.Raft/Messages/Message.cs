namespace RaftSql.Raft;

/// <summary>A message between members: plain data, so the host can map it to its wire format field by field.</summary>
public sealed record Message
{
    public required MessageType Type { get; init; }

    public required ulong From { get; init; }

    public required ulong To { get; init; }

    /// <summary>The sender's term (for PreVote: the term it would campaign in).</summary>
    public ulong Term { get; init; }

    /// <summary>Append: term of the entry at Index. Vote/PreVote: the candidate's last term. Rejected AppendResponse: term of RejectHint.</summary>
    public ulong LogTerm { get; init; }

    /// <summary>Append: index preceding Entries. Vote: candidate's last index. AppendResponse: last matched (or rejected) index. ReadIndexResponse: the read index.</summary>
    public ulong Index { get; init; }

    public IReadOnlyList<Entry> Entries { get; init; } = [];

    public ulong Commit { get; init; }

    public bool Reject { get; init; }

    /// <summary>Rejected append: the follower's best guess of the last index that may match (with LogTerm).</summary>
    public ulong RejectHint { get; init; }

    /// <summary>Snapshot: what to install. The data travels out of band.</summary>
    public SnapshotMetadata? Snapshot { get; init; }

    /// <summary>Heartbeat(Response): the heartbeat round. ReadIndex(Response): the request id. TransferLeader: the target. Vote: 1 = leadership transfer.</summary>
    public ulong Context { get; init; }

    public override string ToString() =>
        $"{Type} {From}->{To} t{Term} i{Index} lt{LogTerm} c{Commit} n{Entries.Count}{(Reject ? $" reject(hint {RejectHint})" : "")} ctx{Context}";
}
