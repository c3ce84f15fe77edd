namespace RaftSql.Raft;

/// <summary>
/// One Raft member as a deterministic, single-threaded state machine. The host feeds it time
/// (<see cref="Tick"/>), messages (<see cref="Step"/>) and requests, and drains its work with
/// <see cref="HasReady"/> / <see cref="GetReady"/> / <see cref="Advance"/>.
/// Membership changes take effect when the host has applied them (apply-at-commit, as in etcd):
/// <see cref="Advance"/> applies the ConfChange entries of the Ready's committed entries.
/// </summary>
public sealed partial class RaftNode
{
    private const ulong None = 0;

    private readonly RaftConfig _config;
    private readonly IRaftStorage _storage;
    private readonly RaftLog _log;
    private readonly List<Message> _outbox = [];
    private readonly Dictionary<ulong, Progress> _progress = [];
    private readonly Dictionary<ulong, bool> _votes = [];

    private ulong _term;
    private ulong _vote;
    private ulong _leader;
    private RaftState _state;
    private Membership _membership;
    private HardState _handedOutHardState;
    private Ready? _outstanding;

    public RaftNode(RaftConfig config, IRaftStorage storage, ulong appliedIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(storage);
        config.Validate();
        _config = config;
        _storage = storage;

        var (hardState, membership) = storage.InitialState();
        var snapshot = storage.Snapshot();
        var commit = Math.Max(hardState.Commit, snapshot.Index);
        if (appliedIndex < snapshot.Index || appliedIndex > commit)
            throw new ArgumentOutOfRangeException(nameof(appliedIndex), $"Applied index {appliedIndex} is outside [{snapshot.Index}, {commit}].");
        if (commit > storage.LastIndex)
            throw new ArgumentException($"The persisted commit index {commit} is beyond the last log index {storage.LastIndex}.", nameof(storage));

        _log = new RaftLog(storage, commit, appliedIndex);
        _membership = membership;
        // The membership is that of the applied index: replay the changes the host applied after the snapshot.
        if (appliedIndex > snapshot.Index)
            foreach (var e in storage.Entries(snapshot.Index + 1, appliedIndex + 1, long.MaxValue))
                if (e.Type == EntryType.ConfChange) SetMembership(_membership.Apply(ConfChange.Decode(e.Data.Span)));

        _term = hardState.Term;
        _vote = hardState.Vote;
        _handedOutHardState = hardState with { Commit = commit };
        BecomeFollower(_term, None);
    }

    public ulong Id => _config.Id;

    public ulong Term => _term;

    public RaftState State => _state;

    /// <summary>The leader this member knows of, or 0.</summary>
    public ulong Leader => _leader;

    public RaftStatus Status => new(
        Id, _term, _state, _leader, _log.Committed, _log.Applied, _log.LastIndex, _membership,
        _progress.ToDictionary(p => p.Key, p => p.Value.ToStatus()));

    internal RaftLog Log => _log;

    /// <summary>
    /// Voters of the membership this member applied campaign; nobody else does: not standbys or spares,
    /// not removed members, not joiners that have not applied their own addition. One exception: a member
    /// that applied its own removal or demotion campaigns while a candidate that still counts on its vote
    /// asked for it recently and was refused for a shorter log (see <see cref="NeededAsVoter"/>): then it
    /// holds entries the remaining voters lack, and winning, it only hands leadership over
    /// (see <see cref="MaybeHandOver"/>).
    /// </summary>
    private bool IsPromotable =>
        (_membership.IsVoter(Id) || NeededAsVoter) &&
        _membership.Voters.Count > 0 && _log.PendingSnapshot is null;

    private HardState CurrentHardState => new(_term, _vote, _log.Committed);

    /// <summary>Advances logical time by one tick.</summary>
    public void Tick()
    {
        _now++;
        if (_state == RaftState.Leader) TickLeader();
        else TickElection();
    }

    /// <summary>Proposes application data; on success it is appended (not yet committed) at the returned index.</summary>
    public ProposeResult Propose(ReadOnlyMemory<byte> data) => Propose(data, duringTransfer: false);

    /// <summary>
    /// Proposes application data. With <paramref name="duringTransfer"/> the data is taken while leadership
    /// is being transferred too: a host whose state machine already shows the data (a leader that applies
    /// speculatively) must get it into the log; it stops producing new data during the transfer itself.
    /// </summary>
    public ProposeResult Propose(ReadOnlyMemory<byte> data, bool duringTransfer) => Propose(data, duringTransfer, owned: false);

    /// <summary>As <see cref="Propose(ReadOnlyMemory{byte}, bool)"/>, but the log keeps <paramref name="data"/> itself
    /// rather than a copy: the caller hands it over and never changes it again (saves a copy of every write).</summary>
    public ProposeResult ProposeOwned(ReadOnlyMemory<byte> data, bool duringTransfer) => Propose(data, duringTransfer, owned: true);

    private ProposeResult Propose(ReadOnlyMemory<byte> data, bool duringTransfer, bool owned)
    {
        if (_state != RaftState.Leader || !_membership.IsVoter(Id)) return ProposeResult.Fail(ProposeStatus.NotLeader, _state == RaftState.Leader ? None : _leader);
        if (_transferee != None && !duringTransfer) return ProposeResult.Fail(ProposeStatus.TransferInProgress, _leader);
        long size = data.Length + Entry.Overhead;
        if (size > _config.MaxBytesPerMessage) return ProposeResult.Fail(ProposeStatus.Dropped, _leader);
        if (_config.MaxUncommittedBytes > 0 && _uncommittedBytes > 0 && _uncommittedBytes + size > _config.MaxUncommittedBytes)
            return ProposeResult.Fail(ProposeStatus.Dropped, _leader);
        _uncommittedBytes += size;
        // Copy: the caller may reuse its buffer, the log keeps the entry until it is compacted.
        var entry = AppendEntry(EntryType.Normal, owned ? data : data.ToArray());
        return new ProposeResult(ProposeStatus.Accepted, entry.Index, entry.Term, Id);
    }

    /// <summary>Feeds a message from another member.</summary>
    public void Step(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.To != Id || message.From == None || message.From == Id) return;
        if (!StepTerm(message)) return;

        if (message.Type is MessageType.Vote or MessageType.PreVote)
        {
            HandleVoteRequest(message);
            return;
        }
        switch (_state)
        {
            case RaftState.Leader: StepLeader(message); break;
            case RaftState.Follower: StepFollower(message); break;
            default: StepCandidate(message); break;
        }
    }

    public bool HasReady =>
        _outstanding is null &&
        (_outbox.Count > 0 || _log.UnstableEntries.Count > 0 || _log.PendingSnapshot is not null ||
         _log.HasNextCommittedEntries || _readStates.Count > 0 || CurrentHardState != _handedOutHardState);

    /// <summary>Takes the pending work. Call <see cref="Advance"/> with it before the next GetReady.</summary>
    public Ready GetReady()
    {
        if (_outstanding is not null) throw new InvalidOperationException("Advance the previous Ready before taking another.");
        var hardState = CurrentHardState;
        var ready = new Ready
        {
            HardState = hardState != _handedOutHardState ? hardState : null,
            Snapshot = _log.PendingSnapshot,
            Entries = [.. _log.UnstableEntries],
            Messages = [.. _outbox],
            CommittedEntries = _log.NextCommittedEntries(),
            ReadStates = [.. _readStates],
        };
        _outbox.Clear();
        _readStates.Clear();
        _outstanding = ready;
        return ready;
    }

    /// <summary>The host has persisted, sent and applied everything in <paramref name="ready"/>.</summary>
    public void Advance(Ready ready)
    {
        ArgumentNullException.ThrowIfNull(ready);
        if (!ReferenceEquals(ready, _outstanding)) throw new InvalidOperationException("This Ready is not the outstanding one.");
        _outstanding = null;
        if (ready.HardState is { } hardState) _handedOutHardState = hardState;
        if (ready.Snapshot is { } snapshot)
        {
            _log.SnapshotInstalled(snapshot.Index);
            _log.SnapshotApplied(snapshot.Index);
        }
        if (ready.Entries.Count > 0)
        {
            var last = ready.Entries[^1];
            _log.StableTo(last.Index, last.Term);
            // The leader counts its own entries towards commit only once they are durable.
            if (_state == RaftState.Leader && _progress.TryGetValue(Id, out var self) && _log.MatchTerm(last.Index, last.Term))
            {
                self.MaybeUpdate(last.Index);
                if (MaybeCommit()) BroadcastAppend();
            }
        }
        foreach (var e in ready.CommittedEntries)
        {
            // Skip what a snapshot accepted since GetReady already covers (the host may Step in between).
            if (e.Index <= _log.Applied || (_log.PendingSnapshot is { } pending && e.Index <= pending.Index)) continue;
            _log.AppliedTo(e.Index);
            if (e.Type == EntryType.ConfChange) ApplyConfChange(ConfChange.Decode(e.Data.Span));
            else if (_state == RaftState.Leader && e.Index >= _termStartIndex) _uncommittedBytes = Math.Max(0, _uncommittedBytes - e.Size);
        }
    }

    private void Send(Message message) => _outbox.Add(message);
}
