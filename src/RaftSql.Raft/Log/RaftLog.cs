namespace RaftSql.Raft;

/// <summary>
/// The core's view of the log: the host's durable storage plus entries (and a received snapshot) that
/// the host has not persisted yet. Unstable entries shadow storage entries at the same indexes.
/// </summary>
internal sealed class RaftLog
{
    private readonly IRaftStorage _storage;
    private readonly List<Entry> _unstable = [];
    private ulong _unstableOffset;

    public RaftLog(IRaftStorage storage, ulong committed, ulong applied)
    {
        _storage = storage;
        _unstableOffset = storage.LastIndex + 1;
        Committed = committed;
        Applied = applied;
    }

    public ulong Committed { get; private set; }

    public ulong Applied { get; private set; }

    /// <summary>A snapshot accepted from the leader that the host has not installed yet.</summary>
    public SnapshotMetadata? PendingSnapshot { get; private set; }

    public ulong FirstIndex => PendingSnapshot is { } s ? s.Index + 1 : _storage.FirstIndex;

    public ulong LastIndex =>
        _unstable.Count > 0 ? _unstableOffset + (ulong)_unstable.Count - 1
        : PendingSnapshot is { } s ? s.Index
        : _storage.LastIndex;

    /// <summary>The last index the host has persisted (entries after it are still unstable).</summary>
    public ulong StableLastIndex => _unstable.Count > 0 ? _unstableOffset - 1 : LastIndex;

    public ulong LastTerm => TryTerm(LastIndex, out var t) ? t : throw new InvalidOperationException("The last log term is unavailable.");

    public IReadOnlyList<Entry> UnstableEntries => _unstable;

    public bool TryTerm(ulong index, out ulong term)
    {
        term = 0;
        if (index >= _unstableOffset && index < _unstableOffset + (ulong)_unstable.Count)
        {
            term = _unstable[(int)(index - _unstableOffset)].Term;
            return true;
        }
        if (PendingSnapshot is { } s)
        {
            if (index != s.Index) return false;
            term = s.Term;
            return true;
        }
        if (index + 1 < _storage.FirstIndex || index > LastIndex) return false;
        term = _storage.Term(index);
        return true;
    }

    public ulong TermOrZero(ulong index) => TryTerm(index, out var t) ? t : 0;

    public bool MatchTerm(ulong index, ulong term) => TryTerm(index, out var t) && t == term;

    /// <summary>Raft 5.4.1: is a log ending at (lastIndex, lastTerm) at least as up to date as ours?</summary>
    public bool IsUpToDate(ulong lastIndex, ulong lastTerm) =>
        lastTerm > LastTerm || (lastTerm == LastTerm && lastIndex >= LastIndex);

    /// <summary>Entries in [lo, hiExclusive) within <paramref name="maxBytes"/> (always at least one), or null when lo is compacted.</summary>
    public IReadOnlyList<Entry>? Entries(ulong lo, ulong hiExclusive, long maxBytes)
    {
        if (lo < FirstIndex) return null;
        hiExclusive = Math.Min(hiExclusive, LastIndex + 1);
        if (lo >= hiExclusive) return [];
        var result = new List<Entry>();
        long bytes = 0;
        if (lo < _unstableOffset)
        {
            IReadOnlyList<Entry> stored;
            try
            {
                stored = _storage.Entries(lo, Math.Min(hiExclusive, _unstableOffset), maxBytes);
            }
            catch (RaftLogUnavailableException e) when (e.Reason == LogUnavailableReason.Compacted)
            {
                return null;
            }
            result.AddRange(stored);
            foreach (var e in stored) bytes += e.Size;
            if (lo + (ulong)stored.Count < Math.Min(hiExclusive, _unstableOffset)) return result; // size limit reached
        }
        for (var i = Math.Max(lo, _unstableOffset); i < hiExclusive; i++)
        {
            var e = _unstable[(int)(i - _unstableOffset)];
            bytes += e.Size;
            if (result.Count > 0 && bytes > maxBytes) break;
            result.Add(e);
        }
        return result;
    }

    /// <summary>Appends entries, replacing any conflicting suffix from the first entry's index.</summary>
    public void Append(IReadOnlyList<Entry> entries)
    {
        if (entries.Count == 0) return;
        var first = entries[0].Index;
        if (first <= Committed) throw new InvalidOperationException($"Entry {first} would overwrite committed entry {Committed}.");
        if (first == _unstableOffset + (ulong)_unstable.Count)
        {
            _unstable.AddRange(entries);
        }
        else if (first <= _unstableOffset)
        {
            // Replaces everything from 'first' on, including entries already in storage.
            _unstableOffset = first;
            _unstable.Clear();
            _unstable.AddRange(entries);
        }
        else
        {
            _unstable.RemoveRange((int)(first - _unstableOffset), _unstable.Count - (int)(first - _unstableOffset));
            _unstable.AddRange(entries);
        }
    }

    /// <summary>
    /// Follower side of AppendEntries: if our log has (prevIndex, prevTerm), merge the entries and
    /// commit up to min(commit, last new index). Returns the last new index, or null on mismatch.
    /// </summary>
    public ulong? MaybeAppend(ulong prevIndex, ulong prevTerm, ulong commit, IReadOnlyList<Entry> entries)
    {
        if (!MatchTerm(prevIndex, prevTerm)) return null;
        var lastNew = prevIndex + (ulong)entries.Count;
        var conflict = FindConflict(entries);
        if (conflict != 0)
        {
            if (conflict <= Committed) throw new InvalidOperationException($"Entry {conflict} conflicts with the committed log.");
            Append([.. entries.Skip((int)(conflict - entries[0].Index))]);
        }
        CommitTo(Math.Min(commit, lastNew));
        return lastNew;
    }

    /// <summary>The index of the first entry that is new or differs in term from ours, or 0.</summary>
    private ulong FindConflict(IReadOnlyList<Entry> entries)
    {
        foreach (var e in entries)
            if (!MatchTerm(e.Index, e.Term)) return e.Index;
        return 0;
    }

    /// <summary>The largest index at or below <paramref name="index"/> whose term is at most <paramref name="term"/> (fast backtracking).</summary>
    public ulong FindConflictByTerm(ulong index, ulong term)
    {
        index = Math.Min(index, LastIndex);
        while (index > 0)
        {
            if (!TryTerm(index, out var t)) break; // compacted: the snapshot point is a safe guess
            if (t <= term) return index;
            index--;
        }
        return index;
    }

    public void CommitTo(ulong index)
    {
        if (index <= Committed) return;
        if (index > LastIndex) throw new InvalidOperationException($"Commit {index} is beyond the last index {LastIndex}.");
        Committed = index;
    }

    /// <summary>Raft 5.4.2: a leader commits by counting replicas only for entries of its own term.</summary>
    public bool MaybeCommit(ulong index, ulong term)
    {
        if (index <= Committed || TermOrZero(index) != term) return false;
        CommitTo(index);
        return true;
    }

    /// <summary>Committed entries the host has not applied yet (those after a pending snapshot).</summary>
    public IReadOnlyList<Entry> NextCommittedEntries()
    {
        var lo = Math.Max(Applied + 1, FirstIndex);
        if (lo > Committed) return [];
        return Entries(lo, Committed + 1, long.MaxValue) ?? [];
    }

    public bool HasNextCommittedEntries => Math.Max(Applied + 1, FirstIndex) <= Committed;

    public void AppliedTo(ulong index)
    {
        if (index > Committed) throw new InvalidOperationException($"Applied {index} is beyond the commit index {Committed}.");
        if (index > Applied) Applied = index;
    }

    /// <summary>The host persisted entries up to (index, term): they are no longer unstable.</summary>
    public void StableTo(ulong index, ulong term)
    {
        if (index < _unstableOffset || index >= _unstableOffset + (ulong)_unstable.Count) return;
        if (_unstable[(int)(index - _unstableOffset)].Term != term) return; // replaced meanwhile
        _unstable.RemoveRange(0, (int)(index - _unstableOffset + 1));
        _unstableOffset = index + 1;
    }

    public void SnapshotInstalled(ulong index)
    {
        if (PendingSnapshot is { } s && s.Index == index) PendingSnapshot = null;
    }

    /// <summary>Replaces the whole log with a snapshot from the leader (the host installs it through Ready).</summary>
    public void Restore(SnapshotMetadata snapshot)
    {
        PendingSnapshot = snapshot;
        _unstable.Clear();
        _unstableOffset = snapshot.Index + 1;
        Committed = snapshot.Index;
    }

    public void SnapshotApplied(ulong index)
    {
        if (index > Applied) Applied = index;
    }
}
