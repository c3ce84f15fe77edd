namespace RaftSql.Raft;

/// <summary>
/// Work for the host, in this order: install <see cref="Snapshot"/>, persist <see cref="HardState"/> and
/// <see cref="Entries"/> (truncating the log from the first entry's index), then send
/// <see cref="Messages"/>, apply <see cref="CommittedEntries"/>, serve <see cref="ReadStates"/>, and call
/// <see cref="RaftNode.Advance"/>.
/// </summary>
public sealed class Ready
{
    public HardState? HardState { get; init; }

    public SnapshotMetadata? Snapshot { get; init; }

    public IReadOnlyList<Entry> Entries { get; init; } = [];

    public IReadOnlyList<Message> Messages { get; init; } = [];

    public IReadOnlyList<Entry> CommittedEntries { get; init; } = [];

    public IReadOnlyList<ReadState> ReadStates { get; init; } = [];
}
