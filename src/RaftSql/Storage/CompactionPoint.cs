namespace RaftSql.Storage;

/// <summary>
/// What the log no longer holds: every entry up to <see cref="Index"/> is compacted (covered by a snapshot of
/// the state machine at that index). <see cref="Term"/> is the term of that entry and <see cref="Membership"/>
/// the cluster configuration in force there, opaque to storage. (0, 0, empty) for a log never compacted.
/// </summary>
public sealed record CompactionPoint(ulong Index, ulong Term, ReadOnlyMemory<byte> Membership)
{
    public static CompactionPoint None { get; } = new(0, 0, ReadOnlyMemory<byte>.Empty);
}
