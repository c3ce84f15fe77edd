namespace RaftSql.Raft;

public sealed partial class RaftNode
{
    private ulong _pendingConfIndex;
    private ulong _transferee;

    /// <summary>True while this leader hands leadership to another member.</summary>
    public bool TransferInProgress => _transferee != None;
    private bool _retiredVoter;
    private long? _refusedShorterLogTick;
    private ulong _handOverRound;

    /// <summary>A retired voter refused, within the last two election timeouts, a candidate whose log is
    /// behind its own: the voters may not be able to elect anyone without it.</summary>
    private bool NeededAsVoter =>
        _retiredVoter && _refusedShorterLogTick is { } tick && _now - tick < 2L * _config.ElectionTicks;

    /// <summary>
    /// Proposes a single-member change. Refused while another change is unapplied, and until the leader
    /// has committed an entry of its own term (the fix for the single-server change bug, Ongaro 2015).
    /// </summary>
    public ProposeResult ProposeConfChange(ConfChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (_state != RaftState.Leader || !_membership.IsVoter(Id)) return ProposeResult.Fail(ProposeStatus.NotLeader, _state == RaftState.Leader ? None : _leader);
        if (_transferee != None) return ProposeResult.Fail(ProposeStatus.TransferInProgress, _leader);
        if (!OwnTermCommitted || _pendingConfIndex > _log.Applied) return ProposeResult.Fail(ProposeStatus.ConfChangeNotReady, _leader);
        if (change.Type == ConfChangeType.Remove && !_membership.Contains(change.Member.Id))
            return ProposeResult.Fail(ProposeStatus.InvalidConfChange, _leader);
        if (_membership.Apply(change).Voters.Count == 0) return ProposeResult.Fail(ProposeStatus.InvalidConfChange, _leader);
        var entry = AppendEntry(EntryType.ConfChange, change.Encode());
        _pendingConfIndex = entry.Index;
        return new ProposeResult(ProposeStatus.Accepted, entry.Index, entry.Term, Id);
    }

    /// <summary>Hands leadership to <paramref name="target"/> (a voter); a follower forwards the request to its leader.</summary>
    public void TransferLeadership(ulong target)
    {
        if (_state == RaftState.Leader) StartTransfer(target);
        else if (_leader != None) Send(new Message { Type = MessageType.TransferLeader, From = Id, To = _leader, Term = _term, Context = target });
    }

    private void StartTransfer(ulong target)
    {
        if (target == Id || target == _transferee || !_membership.IsVoter(target) || !_progress.TryGetValue(target, out var pr)) return;
        _transferee = target;
        _electionElapsed = 0; // the transfer is abandoned after one election timeout
        if (pr.Match == _log.LastIndex) SendTimeoutNow(target);
        else SendAppend(target, sendIfEmpty: true);
    }

    private void SendTimeoutNow(ulong to)
    {
        // The target may win before our lease would run out: no lease reads for the rest of this term.
        _leaseDisabled = true;
        Send(new Message { Type = MessageType.TimeoutNow, From = Id, To = to, Term = _term });
    }

    private void ApplyConfChange(ConfChange change)
    {
        SetMembership(_membership.Apply(change));
        if (_state != RaftState.Leader) return;
        var targets = _membership.ReplicationTargets;
        foreach (var id in _progress.Keys.Where(id => id != Id && !targets.Contains(id)).ToList()) _progress.Remove(id);
        foreach (var id in targets)
            if (!_progress.ContainsKey(id)) AddProgress(id);
        if (_transferee != None && !_membership.IsVoter(_transferee)) _transferee = None;
        // A removed (or demoted) leader keeps leading without counting itself until it can hand over.
        if (MaybeCommit() || !_membership.IsVoter(Id)) BroadcastAppend();
    }

    private void SetMembership(Membership next)
    {
        if (_membership.IsVoter(Id) && !next.IsVoter(Id)) _retiredVoter = true;
        else if (next.IsVoter(Id)) _retiredVoter = false;
        _refusedShorterLogTick = null;
        _membership = next;
    }

    /// <summary>
    /// A leader that is no longer a voter steps down once a quorum of the voters holds its whole log and
    /// has been told it is committed (so they apply the change and need no vote from it), handing over
    /// to the most up-to-date voter with TimeoutNow.
    /// </summary>
    private void MaybeHandOver()
    {
        if (_log.Committed != _log.LastIndex) return;
        var upToDate = _membership.Voters.Where(v => _progress.TryGetValue(v, out var pr) && pr.Match == _log.LastIndex).ToList();
        if (upToDate.Count < _membership.QuorumSize) return;
        if (_handOverRound == 0)
        {
            _handOverRound = _round + 1; // the next heartbeat round carries the final commit index
            return;
        }
        if (upToDate.Count(v => _progress[v].AckedRound >= _handOverRound) < _membership.QuorumSize) return;
        SendTimeoutNow(upToDate[0]);
        BecomeFollower(_term, None);
        _retiredVoter = false; // the voters know the change committed: they no longer need this member
    }

    /// <summary>Leader policy: promote a standby that stayed caught up for a full election timeout.</summary>
    private void MaybePromoteStandby()
    {
        if (!_config.AutoPromote || !OwnTermCommitted || _pendingConfIndex > _log.Applied || _transferee != None) return;
        foreach (var member in _membership.Members)
        {
            if (member.Role != MemberRole.Standby || !_progress.TryGetValue(member.Id, out var pr)) continue;
            var caughtUp = _now - pr.LastHeardTick < _config.ElectionTicks && pr.Match + _config.PromotionLag >= _log.LastIndex;
            if (!caughtUp)
            {
                pr.CaughtUpSince = null;
                continue;
            }
            pr.CaughtUpSince ??= _now;
            if (_now - pr.CaughtUpSince >= _config.ElectionTicks)
            {
                ProposeConfChange(ConfChange.AddOrUpdate(member with { Role = MemberRole.Voter }));
                return;
            }
        }
    }
}
