namespace RaftSql.Raft;

/// <summary>Describes a state-machine snapshot; the data itself never passes through the core.</summary>
public sealed record SnapshotMetadata(ulong Index, ulong Term, Membership Membership)
{
    public static SnapshotMetadata Empty { get; } = new(0, 0, Membership.Empty);
}
