namespace RaftSql.Raft;

/// <summary>An in-memory <see cref="IRaftStorage"/> for tests and the simulator. Not thread-safe.</summary>
public sealed class MemoryStorage : IRaftStorage
{
    private HardState _hardState;
    private SnapshotMetadata _snapshot;
    // _entries[i] has index _snapshot.Index + 1 + i.
    private readonly List<Entry> _entries = [];

    public MemoryStorage() : this(SnapshotMetadata.Empty)
    {
    }

    public MemoryStorage(SnapshotMetadata snapshot) => _snapshot = snapshot;

    /// <summary>
    /// Storage for a founding member: the initial members are written as committed ConfChange entries at
    /// indexes 1..n of term 1, so that nodes joining later learn the whole configuration from the log.
    /// </summary>
    public static MemoryStorage Bootstrap(IReadOnlyList<Member> members)
    {
        var storage = new MemoryStorage();
        storage.Append(BootstrapEntries(members));
        storage.SetHardState(new HardState(1, 0, (ulong)members.Count));
        return storage;
    }

    /// <summary>The entries a founding member starts with (any storage can use them).</summary>
    public static IReadOnlyList<Entry> BootstrapEntries(IReadOnlyList<Member> members)
    {
        if (members.Count == 0) throw new ArgumentException("A cluster needs at least one member.", nameof(members));
        _ = new Membership(members); // validates ids
        return [.. members.Select((m, i) =>
            new Entry(1, (ulong)i + 1, EntryType.ConfChange, ConfChange.AddOrUpdate(m).Encode()))];
    }

    public (HardState HardState, Membership Membership) InitialState() => (_hardState, _snapshot.Membership);

    public HardState HardState => _hardState;

    public ulong FirstIndex => _snapshot.Index + 1;

    public ulong LastIndex => _snapshot.Index + (ulong)_entries.Count;

    public ulong Term(ulong index)
    {
        if (index == _snapshot.Index) return _snapshot.Term;
        if (index < _snapshot.Index) throw new RaftLogUnavailableException(LogUnavailableReason.Compacted, index);
        if (index > LastIndex) throw new RaftLogUnavailableException(LogUnavailableReason.Unavailable, index);
        return _entries[(int)(index - FirstIndex)].Term;
    }

    public IReadOnlyList<Entry> Entries(ulong lo, ulong hiExclusive, long maxBytes)
    {
        if (lo < FirstIndex) throw new RaftLogUnavailableException(LogUnavailableReason.Compacted, lo);
        if (hiExclusive > LastIndex + 1) throw new RaftLogUnavailableException(LogUnavailableReason.Unavailable, hiExclusive - 1);
        var result = new List<Entry>();
        long bytes = 0;
        for (var i = lo; i < hiExclusive; i++)
        {
            var e = _entries[(int)(i - FirstIndex)];
            bytes += e.Size;
            if (result.Count > 0 && bytes > maxBytes) break;
            result.Add(e);
        }
        return result;
    }

    public SnapshotMetadata Snapshot() => _snapshot;

    public void SetHardState(HardState hardState) => _hardState = hardState;

    /// <summary>Appends entries, first truncating any existing suffix from the first new entry's index.</summary>
    public void Append(IReadOnlyList<Entry> entries)
    {
        if (entries.Count == 0) return;
        var first = entries[0].Index;
        if (first <= _snapshot.Index) throw new ArgumentException($"Entry {first} is at or below the snapshot {_snapshot.Index}.", nameof(entries));
        if (first > LastIndex + 1) throw new ArgumentException($"Entry {first} leaves a gap after {LastIndex}.", nameof(entries));
        _entries.RemoveRange((int)(first - FirstIndex), (int)(LastIndex + 1 - first));
        _entries.AddRange(entries);
    }

    /// <summary>Replaces the whole log with a received snapshot.</summary>
    public void ApplySnapshot(SnapshotMetadata snapshot)
    {
        if (snapshot.Index <= _snapshot.Index) throw new ArgumentException("The snapshot is older than the current one.", nameof(snapshot));
        _snapshot = snapshot;
        _entries.Clear();
        if (_hardState.Commit < snapshot.Index) _hardState = _hardState with { Commit = snapshot.Index };
        if (_hardState.Term < snapshot.Term) _hardState = _hardState with { Term = snapshot.Term };
    }

    /// <summary>Records a local snapshot at <paramref name="index"/> and discards the entries up to it.</summary>
    public void Compact(ulong index, Membership membership)
    {
        if (index <= _snapshot.Index) return;
        if (index > LastIndex) throw new ArgumentException($"Cannot compact beyond the last index {LastIndex}.", nameof(index));
        var term = Term(index);
        _entries.RemoveRange(0, (int)(index - _snapshot.Index));
        _snapshot = new SnapshotMetadata(index, term, membership);
    }
}
