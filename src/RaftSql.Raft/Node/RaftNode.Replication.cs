namespace RaftSql.Raft;

public sealed partial class RaftNode
{
    private ulong _termStartIndex;
    private long _uncommittedBytes;

    private Entry AppendEntry(EntryType type, ReadOnlyMemory<byte> data)
    {
        var entry = new Entry(_term, _log.LastIndex + 1, type, data);
        _log.Append([entry]);
        BroadcastAppend();
        return entry;
    }

    private void StepLeader(Message m)
    {
        if (_progress.TryGetValue(m.From, out var pr))
        {
            pr.RecentActive = true;
            pr.LastHeardTick = _now;
        }
        switch (m.Type)
        {
            case MessageType.AppendResponse: HandleAppendResponse(m); break;
            case MessageType.HeartbeatResponse: HandleHeartbeatResponse(m); break;
            case MessageType.ReadIndex: LeaderRead(m.Context, m.From); break;
            case MessageType.TransferLeader: StartTransfer(m.Context); break;
        }
    }

    private void StepFollower(Message m)
    {
        switch (m.Type)
        {
            case MessageType.Append:
                HeardFromLeader(m.From);
                HandleAppend(m);
                break;
            case MessageType.Heartbeat:
                HeardFromLeader(m.From);
                HandleHeartbeat(m);
                break;
            case MessageType.Snapshot:
                HeardFromLeader(m.From);
                HandleSnapshot(m);
                break;
            case MessageType.TimeoutNow:
                Campaign(MessageType.Vote, transfer: true);
                break;
            case MessageType.ReadIndexResponse:
                _readStates.Add(new ReadState(m.Context, m.Index, m.Reject));
                break;
            case MessageType.ReadIndex:
                RejectRead(m.From, m.Context); // forwarded to a leader that is no more
                break;
            case MessageType.TransferLeader when _leader != None:
                Send(m with { From = Id, To = _leader, Term = _term });
                break;
        }
    }

    private void StepCandidate(Message m)
    {
        switch (m.Type)
        {
            case MessageType.Append or MessageType.Heartbeat or MessageType.Snapshot:
                // A leader exists in our term: we lost the election (Raft 5.2).
                BecomeFollower(_term, m.From);
                StepFollower(m);
                break;
            case MessageType.VoteResponse or MessageType.PreVoteResponse:
                HandleVoteResponse(m);
                break;
            case MessageType.ReadIndex:
                RejectRead(m.From, m.Context);
                break;
            case MessageType.ReadIndexResponse when m.Reject:
                _readStates.Add(new ReadState(m.Context, 0, Rejected: true));
                break;
        }
    }

    private void HeardFromLeader(ulong leader)
    {
        _electionElapsed = 0;
        _leaderHeardTick = _now;
        _leader = leader;
    }

    private void BroadcastAppend()
    {
        foreach (var id in _progress.Keys)
            if (id != Id) SendAppend(id, sendIfEmpty: true);
    }

    /// <summary>Sends the next entries (or a snapshot) to a follower unless flow control pauses it.</summary>
    private bool SendAppend(ulong to, bool sendIfEmpty)
    {
        var pr = _progress[to];
        if (pr.IsPaused) return false;
        var prevIndex = pr.Next - 1;
        var entries = _log.TryTerm(prevIndex, out var prevTerm)
            ? _log.Entries(pr.Next, _log.LastIndex + 1, _config.MaxBytesPerMessage)
            : null;
        if (entries is null) return SendSnapshot(to, pr);
        if (entries.Count == 0 && !sendIfEmpty) return false;
        if (pr.State == ProgressState.Replicate && entries.Count > 0)
        {
            // Pipelining: assume success and move on; a rejection sends us back to probing.
            pr.Next = entries[^1].Index + 1;
            pr.Inflights.Add(entries[^1].Index, entries.Sum(e => (long)e.Data.Length + Entry.Overhead));
        }
        else if (pr.State == ProgressState.Probe)
        {
            pr.ProbeSent = true;
        }
        Send(new Message
        {
            Type = MessageType.Append, From = Id, To = to, Term = _term,
            Index = prevIndex, LogTerm = prevTerm, Entries = entries, Commit = _log.Committed,
        });
        return true;
    }

    private bool SendSnapshot(ulong to, Progress pr)
    {
        var snapshot = _storage.Snapshot();
        pr.BecomeSnapshot(snapshot.Index);
        Send(new Message
        {
            Type = MessageType.Snapshot, From = Id, To = to, Term = _term,
            Index = snapshot.Index, LogTerm = snapshot.Term, Snapshot = snapshot,
        });
        return true;
    }

    private void HandleAppend(Message m)
    {
        if (m.Index < _log.Committed)
        {
            Send(new Message { Type = MessageType.AppendResponse, From = Id, To = m.From, Term = _term, Index = _log.Committed });
            return;
        }
        if (_log.MaybeAppend(m.Index, m.LogTerm, m.Commit, m.Entries) is { } lastNew)
        {
            Send(new Message { Type = MessageType.AppendResponse, From = Id, To = m.From, Term = _term, Index = lastNew });
            return;
        }
        // Fast backtracking: tell the leader the last index whose term is not above the leader's term
        // for m.Index, so it can skip a whole conflicting term in one round trip.
        var hint = _log.FindConflictByTerm(Math.Min(m.Index, _log.LastIndex), m.LogTerm);
        Send(new Message
        {
            Type = MessageType.AppendResponse, From = Id, To = m.From, Term = _term,
            Index = m.Index, Reject = true, RejectHint = hint, LogTerm = _log.TermOrZero(hint),
        });
    }

    private void HandleHeartbeat(Message m)
    {
        _log.CommitTo(m.Commit);
        Send(new Message { Type = MessageType.HeartbeatResponse, From = Id, To = m.From, Term = _term, Context = m.Context });
    }

    private void HandleSnapshot(Message m)
    {
        if (m.Snapshot is not { } snapshot) return;
        if (snapshot.Index > _log.Committed && !_log.MatchTerm(snapshot.Index, snapshot.Term))
        {
            _log.Restore(snapshot);
            SetMembership(snapshot.Membership);
            Send(new Message { Type = MessageType.AppendResponse, From = Id, To = m.From, Term = _term, Index = _log.LastIndex });
            return;
        }
        // Stale, or we already have its last entry: no install; answer so that the leader resumes.
        if (snapshot.Index > _log.Committed) _log.CommitTo(snapshot.Index);
        Send(new Message { Type = MessageType.AppendResponse, From = Id, To = m.From, Term = _term, Index = _log.Committed });
    }

    private void HandleAppendResponse(Message m)
    {
        if (!_progress.TryGetValue(m.From, out var pr)) return;
        if (m.Reject)
        {
            var hint = m.LogTerm > 0 ? _log.FindConflictByTerm(m.RejectHint, m.LogTerm) : m.RejectHint;
            if (!pr.MaybeDecreaseTo(m.Index, hint)) return;
            if (pr.State == ProgressState.Replicate) pr.BecomeProbe();
            SendAppend(m.From, sendIfEmpty: true);
            return;
        }
        if (!pr.MaybeUpdate(m.Index))
        {
            if (pr.State == ProgressState.Probe) pr.ProbeSent = false;
            return;
        }
        switch (pr.State)
        {
            case ProgressState.Probe:
                pr.BecomeReplicate();
                break;
            case ProgressState.Snapshot when pr.Match >= pr.PendingSnapshot:
                pr.BecomeReplicate();
                break;
            case ProgressState.Replicate:
                pr.Inflights.FreeUpTo(m.Index);
                break;
        }
        if (MaybeCommit()) BroadcastAppend();
        while (SendAppend(m.From, sendIfEmpty: false))
        {
        }
        if (m.From == _transferee && pr.Match == _log.LastIndex) SendTimeoutNow(m.From);
    }

    private void HandleHeartbeatResponse(Message m)
    {
        if (!_progress.TryGetValue(m.From, out var pr)) return;
        pr.ProbeSent = false;
        // A full window with a live follower means answers were lost: free a slot to make progress.
        if (pr.State == ProgressState.Replicate && pr.Inflights.Full) pr.Inflights.FreeFirst();
        // An empty append also uncovers appends lost in the replicate state: the follower rejects it.
        if (pr.Match < _log.LastIndex) SendAppend(m.From, sendIfEmpty: true);
        if (m.Context > pr.AckedRound)
        {
            pr.AckedRound = m.Context;
            ConfirmRounds();
        }
    }

    /// <summary>Commits the highest index a quorum of voters has durably stored, if it is of this term.</summary>
    private bool MaybeCommit()
    {
        var matches = new List<ulong>(_membership.Voters.Count);
        foreach (var voter in _membership.Voters)
            matches.Add(_progress.TryGetValue(voter, out var pr) ? pr.Match : 0);
        if (matches.Count == 0) return false;
        matches.Sort();
        var quorumIndex = matches[matches.Count - _membership.QuorumSize];
        if (!_log.MaybeCommit(quorumIndex, _term)) return false;
        OnLeaderCommitAdvanced();
        return true;
    }

    /// <summary>The state machine has a snapshot the host sent (true) or could not send (false) to <paramref name="to"/>.</summary>
    public void ReportSnapshot(ulong to, bool success)
    {
        if (_state != RaftState.Leader || !_progress.TryGetValue(to, out var pr) || pr.State != ProgressState.Snapshot) return;
        if (!success) pr.SnapshotFailed();
        pr.BecomeProbe();
        // Wait for the follower's answer (or a heartbeat answer) before probing.
        pr.ProbeSent = true;
    }

    /// <summary>The host could not deliver to <paramref name="to"/>: stop pipelining to it.</summary>
    public void ReportUnreachable(ulong to)
    {
        if (_state == RaftState.Leader && _progress.TryGetValue(to, out var pr) && pr.State == ProgressState.Replicate)
            pr.BecomeProbe();
    }
}
