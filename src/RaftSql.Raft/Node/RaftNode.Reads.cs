namespace RaftSql.Raft;

public sealed partial class RaftNode
{
    /// <summary>A ReadIndex request on the leader. Index 0 = waiting for the first commit of the term; Round 0 = no heartbeat round sent for it yet.</summary>
    private record struct PendingRead(ulong RequestId, ulong From, ulong Index, ulong Round);

    private readonly List<PendingRead> _pendingReads = [];
    private readonly List<ReadState> _readStates = [];
    private readonly Queue<(ulong Round, long Tick)> _roundTicks = new();
    private ulong _round;
    private ulong _confirmedRound;
    private long _confirmedRoundTick;
    private bool _leaseDisabled;

    /// <summary>
    /// Asks for a linearizable read point. The answer arrives as a <see cref="ReadState"/> in a later Ready.
    /// Returns false when no leader is known (the request is dropped).
    /// </summary>
    public bool ReadIndex(ulong requestId)
    {
        if (_state == RaftState.Leader)
        {
            LeaderRead(requestId, Id);
            return true;
        }
        if (_leader == None) return false;
        Send(new Message { Type = MessageType.ReadIndex, From = Id, To = _leader, Term = _term, Context = requestId });
        return true;
    }

    /// <summary>
    /// True only on a leader that a quorum acknowledged within ElectionTicks - LeaseDriftTicks: no other
    /// leader can exist yet, so local reads at the commit index are linearizable without a round trip.
    /// Counted in ticks, this holds only while the host's ticks keep pace with real time; a host whose loop
    /// may stall times the lease itself from <see cref="LeaseRound"/>.
    /// </summary>
    public bool LeaseValid =>
        LeaseRound > 0 && _now - _confirmedRoundTick < _config.ElectionTicks - _config.LeaseDriftTicks;

    /// <summary>
    /// The newest heartbeat round a quorum acknowledged, when this leader may hold a lease at all (it
    /// committed an entry of its term, no transfer is under way, it never sent TimeoutNow in this term, and
    /// followers keep the lease promise because check-quorum is on); otherwise 0. Every member that
    /// acknowledged it refuses votes for ElectionTicks after it received it, so the lease runs from the
    /// time the round was sent. Rounds are numbered from 1 in each term; see <see cref="HeartbeatRound"/>.
    /// </summary>
    public ulong LeaseRound =>
        _state == RaftState.Leader && _config.CheckQuorum && !_leaseDisabled && _transferee == None && OwnTermCommitted
            ? _confirmedRound
            : 0;

    /// <summary>The newest heartbeat round this leader started (0 before the first of its term). A host that
    /// times leases notes when it sends each round's Heartbeat messages (their Context is the round).</summary>
    public ulong HeartbeatRound => _state == RaftState.Leader ? _round : 0;

    private bool OwnTermCommitted => _log.Committed >= _termStartIndex;

    private void LeaderRead(ulong requestId, ulong from)
    {
        // Before an entry of its term commits, a new leader's commit index may be behind (thesis 6.4).
        _pendingReads.Add(new PendingRead(requestId, from, OwnTermCommitted ? _log.Committed : 0, 0));
        MaybeStartReadRound();
    }

    private void OnLeaderCommitAdvanced()
    {
        if (!OwnTermCommitted) return;
        for (var i = 0; i < _pendingReads.Count; i++)
            if (_pendingReads[i].Index == 0) _pendingReads[i] = _pendingReads[i] with { Index = _log.Committed };
        MaybeStartReadRound();
    }

    /// <summary>Batching: reads waiting for a round share the next one, which starts at once while fewer than
    /// MaxReadRoundsInFlight rounds are unconfirmed. A read's round is always sent after the read arrived.</summary>
    private void MaybeStartReadRound()
    {
        if (_round - _confirmedRound >= (ulong)_config.MaxReadRoundsInFlight) return;
        foreach (var read in _pendingReads)
        {
            if (read.Index != 0 && read.Round == 0)
            {
                BroadcastHeartbeat();
                return;
            }
        }
    }

    private void BroadcastHeartbeat()
    {
        _round++;
        _roundTicks.Enqueue((_round, _now));
        for (var i = 0; i < _pendingReads.Count; i++)
            if (_pendingReads[i].Index != 0 && _pendingReads[i].Round == 0) _pendingReads[i] = _pendingReads[i] with { Round = _round };
        foreach (var (id, pr) in _progress)
        {
            if (id == Id)
            {
                pr.AckedRound = _round;
                continue;
            }
            Send(new Message
            {
                Type = MessageType.Heartbeat, From = Id, To = id, Term = _term,
                Commit = Math.Min(pr.Match, _log.Committed), Context = _round,
            });
        }
        ConfirmRounds();
    }

    /// <summary>Finds the newest round a quorum of voters acknowledged; releases its reads and renews the lease.</summary>
    private void ConfirmRounds()
    {
        var acked = new List<ulong>(_membership.Voters.Count);
        foreach (var voter in _membership.Voters)
            acked.Add(_progress.TryGetValue(voter, out var pr) ? pr.AckedRound : 0);
        if (acked.Count == 0) return;
        acked.Sort();
        var confirmed = acked[acked.Count - _membership.QuorumSize];
        if (confirmed <= _confirmedRound) return;
        _confirmedRound = confirmed;
        while (_roundTicks.TryPeek(out var r) && r.Round <= confirmed)
        {
            _roundTicks.Dequeue();
            _confirmedRoundTick = r.Tick;
        }
        var released = false;
        foreach (var read in _pendingReads)
        {
            if (read.Round == 0 || read.Round > confirmed) continue;
            released = true;
            if (read.From == Id) _readStates.Add(new ReadState(read.RequestId, read.Index));
            else Send(new Message { Type = MessageType.ReadIndexResponse, From = Id, To = read.From, Term = _term, Index = read.Index, Context = read.RequestId });
        }
        if (!released) return;
        _pendingReads.RemoveAll(read => read.Round != 0 && read.Round <= confirmed);
        MaybeStartReadRound();
    }

    /// <summary>This leader steps down: every read waiting for its confirmation fails now, so that readers
    /// retry where the leader is instead of waiting for their timeout.</summary>
    private void RejectPendingReads()
    {
        foreach (var read in _pendingReads)
        {
            if (read.From == Id) _readStates.Add(new ReadState(read.RequestId, 0, Rejected: true));
            else RejectRead(read.From, read.RequestId);
        }
        _pendingReads.Clear();
    }

    private void RejectRead(ulong to, ulong requestId) =>
        Send(new Message { Type = MessageType.ReadIndexResponse, From = Id, To = to, Term = _term, Reject = true, Context = requestId });

    private void ResetReads()
    {
        _pendingReads.Clear();
        _roundTicks.Clear();
        _round = 0;
        _confirmedRound = 0;
        _confirmedRoundTick = 0;
        _leaseDisabled = false;
    }
}
