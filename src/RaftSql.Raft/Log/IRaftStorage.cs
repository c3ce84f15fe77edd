namespace RaftSql.Raft;

/// <summary>
/// The host's durable log, read by the core. The host writes it while processing a <see cref="Ready"/>.
/// Indexes below <see cref="FirstIndex"/> are compacted into <see cref="Snapshot"/>; the term of
/// FirstIndex - 1 (the snapshot index) must still be answerable.
/// </summary>
public interface IRaftStorage
{
    /// <summary>The persisted hard state and the membership as of <see cref="Snapshot"/>.</summary>
    (HardState HardState, Membership Membership) InitialState();

    ulong FirstIndex { get; }

    ulong LastIndex { get; }

    /// <exception cref="RaftLogUnavailableException">The index is compacted or beyond the log.</exception>
    ulong Term(ulong index);

    /// <summary>Entries in [lo, hiExclusive), at least one if any, stopping before <paramref name="maxBytes"/> would be exceeded.</summary>
    /// <exception cref="RaftLogUnavailableException">Part of the range is compacted or beyond the log.</exception>
    IReadOnlyList<Entry> Entries(ulong lo, ulong hiExclusive, long maxBytes);

    /// <summary>The latest snapshot (the compaction point).</summary>
    SnapshotMetadata Snapshot();
}
