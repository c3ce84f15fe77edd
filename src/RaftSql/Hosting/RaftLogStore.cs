using RaftSql.Raft;
using RaftSql.Storage;
using StoredHardState = RaftSql.Storage.HardState;

namespace RaftSql.Hosting;

/// <summary>
/// The Raft core's view of the durable log (<see cref="IRaftStorage"/>), backed by the segmented log
/// and the hard-state file, plus the write side the host uses to persist each Ready.
/// Only the host's loop thread writes it; <see cref="Entries"/> may also be called by an engine thread.
/// </summary>
internal sealed class RaftLogStore : IRaftStorage, IDisposable
{
    private readonly SegmentedLog _log;
    private readonly HardStateStore _hardState;
    private Raft.HardState _current;
    private Raft.HardState _saved;

    private readonly string _directory;
    private readonly EntryCache _recent = new(RecentEntryBytes);

    /// <summary>How many bytes of the newest entries stay in memory for the loop to apply and send (four big-transaction chunks).</summary>
    public const long RecentEntryBytes = 4L * 1024 * 1024;

    public RaftLogStore(SegmentedLog log, HardStateStore hardState)
    {
        _log = log;
        _hardState = hardState;
        var stored = hardState.Load();
        _current = _saved = new Raft.HardState(stored.Term, stored.Vote, stored.Commit);
        _directory = Path.GetDirectoryName(hardState.FilePath)!;
        UncleanStart = RunMarker.Begin(hardState.Files, _directory);
    }

    /// <summary>True when the last run did not stop cleanly: it may have applied entries past the saved commit index.</summary>
    public bool UncleanStart { get; }

    private ulong _unconfirmedReadFloor;

    /// <summary>After an unclean start: the index this node may have served reads up to before it crashed, until a
    /// leader confirms it (0 then). A clean stop keeps the run marker while the saved commit index is below it, so
    /// the next start stays gated too instead of reading from the lagging saved commit index.</summary>
    public ulong UnconfirmedReadFloor
    {
        get => Volatile.Read(ref _unconfirmedReadFloor);
        set => Volatile.Write(ref _unconfirmedReadFloor, value);
    }

    public Raft.HardState HardState => _current;

    /// <summary>True when nothing was ever persisted: a brand-new data directory.</summary>
    public bool IsEmpty => _current == default && _log.LastIndex == 0;

    public (Raft.HardState HardState, Membership Membership) InitialState() =>
        (_current, MembershipCodec.Decode(_log.CompactionPoint.Membership.Span));

    public ulong FirstIndex => _log.FirstIndex;

    public ulong LastIndex => _log.LastIndex;

    public ulong Term(ulong index)
    {
        var point = _log.CompactionPoint;
        if (index < point.Index)
            throw new RaftLogUnavailableException(LogUnavailableReason.Compacted, index);
        if (index > _log.LastIndex)
            throw new RaftLogUnavailableException(LogUnavailableReason.Unavailable, index);
        return _log.Term(index);
    }

    public IReadOnlyList<Entry> Entries(ulong lo, ulong hiExclusive, long maxBytes)
    {
        if (lo < _log.FirstIndex)
            throw new RaftLogUnavailableException(LogUnavailableReason.Compacted, lo);
        if (hiExclusive > _log.LastIndex + 1)
            throw new RaftLogUnavailableException(LogUnavailableReason.Unavailable, hiExclusive - 1);
        if (lo >= hiExclusive)
            return [];
        if (_recent.TryRead(lo, hiExclusive, maxBytes, out var recent))
            return recent;
        var records = _log.Read(lo, hiExclusive, maxBytes);
        var entries = new Entry[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            var r = records[i];
            entries[i] = new Entry(r.Term, r.Index, (EntryType)r.Type, r.Payload);
        }
        return entries;
    }

    public SnapshotMetadata Snapshot()
    {
        var point = _log.CompactionPoint;
        return new SnapshotMetadata(point.Index, point.Term, MembershipCodec.Decode(point.Membership.Span));
    }

    /// <summary>A founding member's first state: the initial members as committed entries 1..n of term 1.</summary>
    public void Bootstrap(IReadOnlyList<Member> members)
    {
        var entries = MemoryStorage.BootstrapEntries(members);
        Persist(null, entries, new Raft.HardState(1, 0, (ulong)entries.Count));
    }

    /// <summary>True when persisting <paramref name="hardState"/> would change the durable term or vote: nothing
    /// that carries or reveals it may be sent before.</summary>
    public bool ChangesTermOrVote(Raft.HardState? hardState) =>
        hardState is { } hs && (hs.Term != _saved.Term || hs.Vote != _saved.Vote);

    /// <summary>Persists one Ready's snapshot point, entries and hard state with a single log fsync.</summary>
    public void Persist(SnapshotMetadata? snapshot, IReadOnlyList<Entry> entries, Raft.HardState? hardState)
    {
        if (snapshot is not null)
        {
            _recent.Clear();
            _log.ResetTo(snapshot.Index, snapshot.Term, MembershipCodec.Encode(snapshot.Membership));
        }
        if (entries.Count > 0)
        {
            var records = new LogRecord[entries.Count];
            for (var i = 0; i < entries.Count; i++)
            {
                var e = entries[i];
                records[i] = new LogRecord(e.Index, e.Term, (byte)e.Type, e.Data);
            }
            _log.Append(records);
            _log.Sync();
            _recent.Append(entries);
        }
        if (hardState is { } hs && hs != _current)
        {
            // Term and vote must be durable before anything that reveals them is sent. The commit index
            // need not be (a restarted node learns it again from the leader), so a change of it alone is
            // written later by FlushCommit, keeping a second fsync off every write's path.
            if (hs.Term != _current.Term || hs.Vote != _current.Vote)
                Save(hs);
            else
                _current = hs;
        }
    }

    /// <summary>Writes the latest commit index if only it changed since the last save.</summary>
    public void FlushCommit()
    {
        if (_current != _saved)
            Save(_current);
    }

    private void Save(Raft.HardState state)
    {
        _hardState.Save(new StoredHardState(state.Term, state.Vote, state.Commit));
        _current = _saved = state;
    }

    /// <summary>Drops log entries below <paramref name="index"/>; the membership then is recorded with the point.</summary>
    public void CompactBefore(ulong index, Membership membership) =>
        _log.CompactBefore(index, MembershipCodec.Encode(membership));

    public void Dispose()
    {
        FlushCommit();
        _log.Dispose();
        if (_saved.Commit >= UnconfirmedReadFloor)
            RunMarker.End(_hardState.Files, _directory);
    }

    /// <summary>A crash (simulated): closes the files without recording anything more.</summary>
    internal void CloseWithoutFlush() => _log.Dispose();
}
