using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using RaftSql.Raft;
using RaftSql.Sqlite;

namespace RaftSql.Hosting;

/// <summary>
/// Drives the pure Raft core: one loop thread owns the core, the log store and the apply path. Work
/// (ticks, peer messages, proposals, reads) is posted to the loop; after each batch the loop drains the
/// core's Readies: persist (one fsync), send, apply in log order, advance. The whole-node simulator runs
/// the same loop body without the thread (<see cref="NodeRuntime.ManualLoop"/>, <see cref="RunOnce"/>).
/// </summary>
internal sealed partial class RaftHost : IFrameCommitter, IAsyncDisposable
{
    private readonly NodeOptions _options;
    private readonly RaftLogStore _store;
    private readonly ReplicationEngine _engine;
    private readonly RaftNode _core;
    private readonly ILogger _logger;
    private readonly BlockingCollection<Action> _work = new();
    private readonly NodeRuntime _runtime;
    private readonly Thread? _loop;
    private readonly ITimer _ticker;
    private readonly CancellationTokenSource _stopping = new();

    // Loop-thread state.
    private readonly Dictionary<ulong, long> _ownEntryBytes = [];
    private readonly ByteBudget _uncommitted = new(UncommittedBudgetBytes);
    private readonly Dictionary<ulong, (ulong Term, TaskCompletionSource Done)> _confChanges = [];
    private readonly ReadRounds _reads = new();
    private readonly PriorityQueue<TaskCompletionSource, ulong> _appliedWaiters = new();
    private readonly LeaseClock _lease;
    private readonly long _minTickSpacing;
    private long _lastTick = long.MinValue;
    private ulong _writeBarrier = ulong.MaxValue;
    private ulong _applied; // written on the loop thread only; read anywhere with Volatile
    private ulong _knownCommit; // ditto: raised before any message that reveals a commit index goes out
    private (RaftState State, ulong Leader, ulong Term) _seen;
    private bool _replaying;

    private const long UncommittedBudgetBytes = 64L * 1024 * 1024;
    private volatile HostStatus _status = HostStatus.Initial;
    private ulong _leaseGeneration; // written on the loop thread only; read anywhere with Volatile
    private volatile bool _admitting;
    private volatile bool _stopped;
    private volatile RaftSqlException? _failure;
    private readonly TaskCompletionSource _halted = AsyncCompletion.Create();
    private int _disposed;

    public RaftHost(NodeOptions options, RaftLogStore store, Func<IFrameCommitter, ReplicationEngine> createEngine,
        IPeerTransport network, ILogger logger)
    {
        _options = options;
        _runtime = options.Runtime;
        _store = store;
        _logger = logger;
        Network = network;
        _engine = createEngine(this);

        var snapshot = store.Snapshot();
        var commit = Math.Max(store.HardState.Commit, snapshot.Index);
        // Entries up to the engine's durable index survived in the database files; replay the rest.
        _applied = Math.Clamp(_engine.DurableIndex(), snapshot.Index, commit);
        // Until the replay passes the commit index known now, the files show an older state than this node may
        // have shown before it stopped: no read is served before (see Replayed).
        StartCommit = commit;
        // After a crash the saved commit index may lag what this node applied and served: up to its last log entry.
        StartLastIndex = store.UncleanStart && store.LastIndex > commit ? store.LastIndex : 0;
        _readFloorKnown = StartLastIndex == 0;
        store.UnconfirmedReadFloor = StartLastIndex;
        var config = BuildConfig(options);
        _core = new RaftNode(config, store, _applied);
        _knownCommit = commit;
        _lease = new LeaseClock(options.HeartbeatInterval, config.ElectionTicks, _runtime.Time);
        _minTickSpacing = (long)(options.HeartbeatInterval.TotalSeconds * LeaseClock.MinTickFraction * _runtime.Time.TimestampFrequency);
        // Where the last membership change before the restart was is not known: compact no lower than here.
        _lastConfChangeIndex = _applied;
        Network.UpdateMembership(_core.Status.Membership);
        Publish();
        HostLog.Started(logger, options.Id, _applied, store.FirstIndex, store.LastIndex);
        if (_applied < StartCommit)
        {
            _replaying = true;
            HostLog.Replaying(logger, options.Id, _applied + 1, StartCommit);
        }

        if (!_runtime.ManualLoop)
        {
            _loop = new Thread(RunLoop) { IsBackground = true, Name = $"raft-{options.Id}" };
            _loop.Start();
        }
        _ticker = _runtime.Time.CreateTimer(_ => Post(OnTick), null, options.HeartbeatInterval, options.HeartbeatInterval);
    }

    public ReplicationEngine Engine => _engine;

    public IPeerTransport Network { get; }

    public HostStatus Status => _status;

    /// <summary>The commit index this node had durably when it started (its hard state's, or its snapshot's).</summary>
    public ulong StartCommit { get; }

    /// <summary>True once this node has applied <see cref="StartCommit"/>. Before, it is replaying entries its
    /// files may already be past (or that it showed before it stopped) and serves no read, not even Local:
    /// a reader would travel back in time.</summary>
    public bool Replayed => _status.Applied >= StartCommit && (_readFloorKnown || _status.Applied >= StartLastIndex);

    /// <summary>After a crash with entries past the saved commit index: the last log index then (else 0). This node may
    /// have served reads up to it, so it serves none below it, or below what a leader confirms as committed
    /// (<see cref="ConfirmReadFloor"/>), whichever is lower.</summary>
    public ulong StartLastIndex { get; }

    private volatile bool _readFloorKnown;

    /// <summary>Applied the commit index a ReadIndex round confirmed (or <see cref="StartLastIndex"/>): no read travels back.</summary>
    public void ConfirmReadFloor()
    {
        _readFloorKnown = true;
        _store.UnconfirmedReadFloor = 0;
    }

    /// <summary>Raised on the loop thread when this node stops being the leader.</summary>
    public event Action? LeadershipLost;

    /// <summary>Test hook: runs on the loop thread after a Ready's messages went out, before its committed
    /// entries are applied.</summary>
    internal Action<IReadOnlyList<Entry>>? BeforeApply { get; set; }

    /// <summary>Test hook: runs on the loop thread once a snapshot's files are installed, before the log and hard
    /// state record it (a crash there leaves the files ahead of the log).</summary>
    internal Action<ulong>? AfterSnapshotFiles { get; set; }

    /// <summary>Why the Raft loop failed, or null while it runs (or after a normal stop).</summary>
    public RaftSqlException? Failure => _failure;

    /// <summary>The index up to which this node has applied, read from any thread (newer than
    /// <see cref="HostStatus.Applied"/>, which is published once per loop batch).</summary>
    public ulong Applied => Volatile.Read(ref _applied);

    /// <summary>The newest commit index this node knows, read from any thread. It is raised before any message
    /// that reveals it goes out, so a read that starts after another node served a read or acknowledged a
    /// write at some index sees at least that index here (when this node is the leader that confirmed it).</summary>
    public ulong KnownCommit => Volatile.Read(ref _knownCommit);

    private static RaftConfig BuildConfig(NodeOptions options)
    {
        var electionTicks = (int)Math.Max(2, Math.Round(options.ElectionTimeout / options.HeartbeatInterval));
        return new RaftConfig
        {
            Id = options.Id,
            HeartbeatTicks = 1,
            ElectionTicks = electionTicks,
            // The core's tick-counted lease is not used here: the host times leases in real time (LeaseClock).
            LeaseDriftTicks = Math.Min(2, electionTicks - 1),
            // A slow follower costs the leader at most this much buffered entry data (big transactions
            // travel as 1 MiB chunks; 256 of them in flight would be 256 MiB per follower).
            MaxInflightBytes = 8L * 1024 * 1024,
            Random = new SeededRandomSource(options.Runtime.RandomSeed ?? (ulong)Random.Shared.NextInt64(1, long.MaxValue)),
        };
    }

    /// <summary>Queues work for the loop thread.</summary>
    public void Post(Action action)
    {
        if (!_stopped)
        {
            try
            {
                _work.Add(action);
                return;
            }
            catch (InvalidOperationException)
            {
                // Completed while stopping: fall through.
            }
        }
    }

    /// <summary>Runs <paramref name="func"/> on the loop thread and returns its result.</summary>
    public Task<T> InvokeAsync<T>(Func<T> func)
    {
        var tcs = AsyncCompletion.Create<T>();
        if (_stopped)
        {
            tcs.SetException(_failure ?? Stopped());
            return tcs.Task;
        }
        Post(() =>
        {
            try
            {
                tcs.TrySetResult(func());
            }
            catch (Exception ex)
            {
                tcs.TrySetException(ex);
            }
        });
        return UnlessHaltedAsync(tcs.Task, CancellationToken.None);
    }

    private void RunLoop()
    {
        try
        {
            foreach (var first in _work.GetConsumingEnumerable())
                RunBatch(first);
        }
        catch (Exception ex)
        {
            FailLoop(ex);
        }
    }

    /// <summary>
    /// For a host without a loop thread (<see cref="NodeRuntime.ManualLoop"/>): runs what is queued now as one
    /// batch, exactly as the loop thread would. False when nothing was queued or the loop has failed.
    /// </summary>
    internal bool RunOnce()
    {
        if (_stopped || !_work.TryTake(out var first))
            return false;
        try
        {
            RunBatch(first);
        }
        catch (Exception ex)
        {
            FailLoop(ex);
        }
        return true;
    }

    /// <summary>True when work is queued for the loop.</summary>
    internal bool HasWork => _work.Count > 0;

    /// <summary>The loop body: the queued work, then the core's Readies (persist, send, apply, advance), then publish.</summary>
    private void RunBatch(Action first)
    {
        Execute(first);
        // Batch whatever else is queued: one Ready (one fsync) covers all of it.
        for (var n = 0; n < 1024 && _work.TryTake(out var next); n++)
            Execute(next);
        while (_core.HasReady)
            HandleReady(_core.GetReady());
        DropStaleSnapshots();
        Publish();
    }

    private void FailLoop(Exception ex)
    {
        HostLog.LoopFailed(_logger, ex);
        var failure = new RaftSqlException(RaftSqlErrorCode.NodeStopped, "The node's Raft loop failed: " + ex.Message, ex);
        _failure = failure;
        _stopped = true;
        RevokeLease();
        _status = _status with { AcceptsWrites = false };
        _halted.TrySetResult();
        FailEverything(failure);
    }

    private void Execute(Action action)
    {
        action();
        ObserveRoleChange();
    }

    private void HandleReady(Ready ready)
    {
        if (ready.Snapshot is { } snapshot)
        {
            InstallStagedSnapshot(snapshot);
            AfterSnapshotFiles?.Invoke(snapshot.Index);
        }
        // Before anything goes out: the commit index the messages may reveal, and the rounds they start.
        if (ready.HardState is { } hard && hard.Commit > _knownCommit)
            Volatile.Write(ref _knownCommit, hard.Commit);
        if (_core.HeartbeatRound > 0)
            _lease.NoteSent(_core.Term, _core.HeartbeatRound, _lease.Now);
        // A lease the core gave up (a transfer's TimeoutNow is about to go out, or it stepped down) ends for
        // readers before any message can help elect another leader, not at the next Publish.
        if (_core.LeaseRound == 0 && _status.LeaseExpiry != 0)
            RevokeLease();
        // A leader's appends and heartbeats go out before its own fsync: followers write in parallel with
        // it (Raft thesis 10.2.1). This is safe because the core counts the leader's own entries towards
        // a commit only after Advance, i.e. once they are durable here, and because the term they carry is
        // durable already: a Ready that changes the term or vote (a lone voter wins its election in the
        // same Ready as its first appends) persists first. Everything else (votes, answers) always waits
        // until the state it reveals is durable.
        var sendEarly = !_store.ChangesTermOrVote(ready.HardState);
        if (sendEarly)
        {
            foreach (var message in ready.Messages)
            {
                if (IsReplication(message))
                    Send(message);
            }
        }
        _store.Persist(ready.Snapshot, ready.Entries, ready.HardState);
        foreach (var message in ready.Messages)
        {
            if (!sendEarly || !IsReplication(message))
                Send(message);
        }
        if (ready.CommittedEntries.Count > 0)
            BeforeApply?.Invoke(ready.CommittedEntries);
        foreach (var entry in ready.CommittedEntries)
            Apply(entry);
        foreach (var read in ready.ReadStates)
        {
            if (read.Rejected)
                _reads.Fail(read.RequestId, new RaftSqlException(RaftSqlErrorCode.NoLeader, "The leader stepped down before it confirmed the read."));
            else
                _reads.Complete(read.RequestId, read.Index);
        }
        StartReadRounds();
        _core.Advance(ready);
        if (ready.CommittedEntries.Any(e => e.Type == EntryType.ConfChange) || ready.Snapshot is not null)
        {
            var membership = _core.Status.Membership;
            Network.UpdateMembership(membership);
            HostLog.MembershipChanged(_logger, membership);
        }
        ObserveRoleChange();
    }

    private static bool IsReplication(Message message) => message.Type is MessageType.Append or MessageType.Heartbeat;

    private void Send(Message message)
    {
        if (message.Type == MessageType.Snapshot)
            StartSnapshotSend(message);
        else if (!Network.Send(message) && message.Type == MessageType.Append)
            _core.ReportUnreachable(message.To); // stop pipelining to a peer we cannot reach: probe it instead
    }

    private void Apply(Entry entry)
    {
        if (entry.Type == EntryType.ConfChange)
        {
            if (_confChanges.Remove(entry.Index, out var change))
            {
                if (change.Term == entry.Term) change.Done.TrySetResult();
                else change.Done.TrySetException(Lost(entry.Index));
            }
        }
        if (!entry.Data.IsEmpty && entry.Type != EntryType.ConfChange)
        {
            // Our own entries only move the commit point (their frames are in the WAL already).
            _engine.ApplyCommitted(entry.Index, entry.Term, entry.Data);
            if (_ownEntryBytes.Remove(entry.Index, out var bytes))
                _uncommitted.Release(bytes);
        }
        else
        {
            _engine.ApplyOther(entry.Index, entry.Term);
        }
        Volatile.Write(ref _applied, entry.Index);
        NoteApplied(entry);
        while (_appliedWaiters.TryPeek(out var waiter, out var index) && index <= _applied)
        {
            _appliedWaiters.Dequeue();
            waiter.TrySetResult();
        }
    }

    private void ObserveRoleChange()
    {
        var now = (_core.State, _core.Leader, _core.Term);
        if (now == _seen)
            return;
        var wasLeader = _seen.State == RaftState.Leader;
        // The leader that was to answer this node's read rounds is gone (it stepped down, or another one leads,
        // or a new term began): nobody will answer them.
        var leaderGone = _seen.Leader != 0 && (now.Leader != _seen.Leader || now.Term != _seen.Term);
        if (_status.LeaseExpiry != 0 && (now.State != RaftState.Leader || now.Term != _seen.Term))
            RevokeLease();
        _seen = now;
        HostLog.RoleChanged(_logger, _options.Id, now.State, now.Term, now.Leader);
        if (now.State == RaftState.Leader && !wasLeader)
        {
            // The no-op of the new term was just appended: local writes wait until it is applied, so the
            // leader's WAL is the committed log plus its own tail, in log order, and nothing else.
            _writeBarrier = _core.Status.LastIndex;
        }
        else if (wasLeader && now.State != RaftState.Leader)
        {
            _writeBarrier = ulong.MaxValue;
            _admitting = false;
            var lost = new RaftSqlException(RaftSqlErrorCode.OutcomeUnknown,
                "Leadership was lost before the write was known to commit; it may or may not have been applied.");
            foreach (var (_, change) in _confChanges) change.Done.TrySetException(lost);
            _confChanges.Clear();
            // Stop local writers first (the cut needs each database's write lock), then cut every tail back to
            // its last committed frame; the new leader's entries, our own former ones included, apply next.
            // A writer waiting for the byte budget holds its database's write lock: free it first.
            ReleaseOwnEntries();
            LeadershipLost?.Invoke();
            _engine.CutTails(lost, ReadLog);
        }
        if (leaderGone)
        {
            // Reads queued with a leader that is gone would only time out: let their callers retry at once.
            _reads.FailAll(new RaftSqlException(RaftSqlErrorCode.NoLeader, "The leader changed during the read."));
        }
    }

    private void Publish()
    {
        if (_replaying && _applied >= StartCommit)
        {
            _replaying = false;
            HostLog.Replayed(_logger, _options.Id, StartCommit);
        }
        var status = _core.Status;
        _admitting = status.State == RaftState.Leader && _applied >= _writeBarrier && !_core.TransferInProgress;
        var leaseExpiry = 0L;
        if (status.State == RaftState.Leader)
        {
            // A round that sent no message (a single voter) is noted here, after it was confirmed.
            _lease.NoteSent(status.Term, _core.HeartbeatRound, _lease.Now);
            leaseExpiry = _lease.Expiry(status.Term, _core.LeaseRound);
        }
        // Any other way a lease ends early (the core dropped it without a Ready) ends its permits too.
        if (leaseExpiry == 0 && _status.LeaseExpiry != 0)
            RevokeLease();
        _status = new HostStatus(
            status.Term, status.State, status.Leader, status.Commit, _applied, status.Membership,
            leaseExpiry,
            status.State == RaftState.Leader && _applied >= _writeBarrier,
            _leaseGeneration);
    }

    /// <summary>The generation of the lease reads may still be permitted under; read from any thread.</summary>
    public ulong LeaseGeneration => Volatile.Read(ref _leaseGeneration);

    /// <summary>
    /// Ends the published lease and every read permit granted under it, before anything that could help another
    /// leader (a TimeoutNow, a vote) goes out: the generation moves first, so a permit taken from any status
    /// published before fails <see cref="Gateway.ReadPermit.StillHolds"/>, and a status published after has no lease.
    /// </summary>
    private void RevokeLease()
    {
        Volatile.Write(ref _leaseGeneration, _leaseGeneration + 1);
        _status = _status with { LeaseExpiry = 0, LeaseGeneration = _leaseGeneration };
    }

    // ---- IFrameCommitter: local write transactions on the leader --------------------------------

    /// <summary>Called on SQLite's thread before a local commit frame is written.</summary>
    public void Admit(string database)
    {
        ThrowIfStopped();
        if (!_admitting)
        {
            var status = _status;
            throw status.IsLeader
                ? new RaftSqlException(RaftSqlErrorCode.NotLeader, "This leader does not take writes right now (it is starting its term or handing leadership over).")
                : new RaftSqlException(RaftSqlErrorCode.NotLeader, $"Node {_options.Id} is not the leader.");
        }
    }

    /// <summary>SQLite failed a committed transaction of ours after its commit frame, when its entry had already
    /// been applied: this node's WAL lacks a committed entry. Stop the node; a restart replays it from the log.</summary>
    public void CommitLost(string database, RaftSqlException error) => Post(() => throw error);

    /// <summary>Called on SQLite's thread, write lock held: queues the entry for the loop in WAL order.</summary>
    public void Propose(LocalCommit commit, byte[] entry, bool final)
    {
        if (!_uncommitted.TryAcquire(entry.Length, _options.CommitTimeout))
            throw new RaftSqlException(RaftSqlErrorCode.Timeout, "Too many writes are waiting to commit; this transaction did not commit.");
        if (_stopped)
        {
            _uncommitted.Release(entry.Length);
            ThrowIfStopped();
        }
        Post(() => ProposeOwn(commit, entry, final));
    }

    /// <summary>Called on SQLite's thread, write lock held: the abort entry of a big transaction that failed after some
    /// chunks, queued after them. A few bytes, outside the budget: running out of budget may be why it failed.</summary>
    public void ProposeAbort(LocalCommit commit, byte[] entry)
    {
        if (_stopped)
            return;
        Post(() =>
        {
            // A cut tail means leadership is going: the next term ends the transaction everywhere. A refused
            // proposal means the same, and the role change that follows cuts the tail.
            if (_engine.IsCurrent(commit))
                _core.ProposeOwned(entry, duringTransfer: true);
        });
    }

    private void ProposeOwn(LocalCommit commit, byte[] entry, bool final)
    {
        if (commit.IsDecided || !_engine.IsCurrent(commit))
        {
            // Its tail was cut after it was queued: it never reaches the log.
            _uncommitted.Release(entry.Length);
            return;
        }
        var result = _core.ProposeOwned(entry, duringTransfer: true);
        if (result.Accepted)
        {
            commit.Proposed(result.Index, final);
            _ownEntryBytes[result.Index] = entry.Length;
            return;
        }
        _uncommitted.Release(entry.Length);
        // The log refused it (this node is no longer a voting leader): its frames and everything written
        // on top of them must go before anything else is written or applied.
        LeadershipLost?.Invoke();
        _engine.CutTail(commit, ProposeFailure(result), ReadLog);
    }

    /// <summary>Entries [<paramref name="from"/>, <paramref name="to"/>] from the log, a few at a time.</summary>
    public IEnumerable<(ulong Index, ulong Term, ReadOnlyMemory<byte> Data)> ReadLog(ulong from, ulong to)
    {
        for (var next = from; next <= to;)
        {
            var entries = _store.Entries(next, to + 1, 4L * 1024 * 1024);
            if (entries.Count == 0)
                yield break;
            foreach (var entry in entries)
                yield return (entry.Index, entry.Term, entry.Data);
            next = entries[^1].Index + 1;
        }
    }

    private void ReleaseOwnEntries()
    {
        foreach (var bytes in _ownEntryBytes.Values)
            _uncommitted.Release(bytes);
        _ownEntryBytes.Clear();
    }

    // ---- requests from the node and the gateway ------------------------------------------------

    /// <summary>A ReadIndex round: the index a linearizable read must wait for (see <see cref="ReadRounds"/>).</summary>
    public Task<ulong> ReadIndexAsync(CancellationToken cancellationToken)
    {
        ThrowIfStopped();
        var round = _reads.Join();
        Post(StartReadRounds);
        return UnlessHaltedAsync(round, cancellationToken);
    }

    private void OnTick()
    {
        // Ticks that queued up while the loop was busy arrive together: count at most one per
        // MinTickFraction of a heartbeat interval, so that ElectionTicks ticks (a follower's vote promise)
        // never pass in less real time than the lease assumes.
        var now = _runtime.Time.GetTimestamp();
        if (_lastTick == long.MinValue || now - _lastTick >= _minTickSpacing)
        {
            _lastTick = now;
            _core.Tick();
        }
        StartReadRounds();
    }

    /// <summary>On the loop thread: fails rounds that got no answer within an election timeout (their messages
    /// were lost), then starts the collected round if fewer than the most are in flight.</summary>
    private void StartReadRounds()
    {
        var now = _runtime.NowMilliseconds;
        // A round whose messages were lost is asked again; a read that waits too long ends at its caller's deadline.
        foreach (var again in _reads.Reissue(now, (long)_options.ElectionTimeout.TotalMilliseconds))
        {
            if (_core.Leader == 0 || !_core.ReadIndex(again))
                _reads.Fail(again, NoLeader());
        }
        if (!_reads.TryStart(now, out var id))
            return;
        if (_core.Leader == 0 || !_core.ReadIndex(id))
            _reads.Fail(id, NoLeader());
    }

    /// <summary>Completes once this node has applied <paramref name="index"/>.</summary>
    public Task WaitForAppliedAsync(ulong index, CancellationToken cancellationToken)
    {
        ThrowIfStopped();
        if (Applied >= index)
            return Task.CompletedTask;
        var tcs = AsyncCompletion.Create();
        Post(() =>
        {
            if (_applied >= index) tcs.TrySetResult();
            else _appliedWaiters.Enqueue(tcs, index);
        });
        return UnlessHaltedAsync(tcs.Task, cancellationToken);
    }

    /// <summary>Proposes a membership change on the leader and waits until it is applied here.</summary>
    public async Task ChangeMembershipAsync(ConfChange change, CancellationToken cancellationToken)
    {
        while (true)
        {
            var (result, done) = await InvokeAsync(() =>
            {
                var r = _core.ProposeConfChange(change);
                TaskCompletionSource? tcs = null;
                if (r.Accepted)
                {
                    tcs = AsyncCompletion.Create();
                    _confChanges[r.Index] = (r.Term, tcs);
                }
                return (r, tcs);
            }).ConfigureAwait(false);
            if (done is not null)
            {
                await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            if (result.Status != ProposeStatus.ConfChangeNotReady)
                throw ProposeFailure(result);
            // Another change is still being applied, or this leader has not committed in its term yet.
            await Task.Delay(_options.HeartbeatInterval, _runtime.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Asks the leader (this node, or the one it knows) to hand leadership to <paramref name="target"/>.</summary>
    public void TransferLeadership(ulong target) => Post(() => _core.TransferLeadership(target));

    /// <summary>The voter (other than this node) whose log is most up to date, per the leader's progress.</summary>
    public Task<ulong> BestTransferTargetAsync() => InvokeAsync(() =>
    {
        var status = _core.Status;
        return status.Progress
            .Where(p => p.Key != _options.Id && status.Membership.IsVoter(p.Key))
            .OrderByDescending(p => p.Value.Match)
            .Select(p => p.Key)
            .FirstOrDefault();
    });

    /// <summary>Feeds a message that arrived from a peer.</summary>
    public void Receive(Message message) => Post(() => _core.Step(message));

    /// <summary>
    /// For the whole-node simulator: the process dies here. No handover, no last flush of the commit index,
    /// nothing failed or cut; waiting callers are simply abandoned. File handles close (as the kernel closes
    /// them at a kill); the database files keep what was written.
    /// </summary>
    internal void Crash()
    {
        _stopped = true;
        _disposed = 1;
        _ticker.Dispose();
        _work.CompleteAdding();
        foreach (var staged in _staged.Values)
            staged.Dispose();
        _engine.Dispose();
        _store.CloseWithoutFlush();
    }

    private void StopOnLoop()
    {
        _stopped = true;
        _halted.TrySetResult();
        FailEverything(Stopped());
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await _ticker.DisposeAsync().ConfigureAwait(false);
        if (!_stopped && _loop is null)
        {
            StopOnLoop();
        }
        else if (!_stopped)
        {
            var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Post(() =>
            {
                StopOnLoop();
                drained.TrySetResult();
            });
            await drained.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        _work.CompleteAdding();
        _loop?.Join();
        _stopping.Cancel();
        await StopSnapshotsAsync().ConfigureAwait(false);
        await Network.DisposeAsync().ConfigureAwait(false);
        await _engine.DisposeAsync().ConfigureAwait(false);
        _store.Dispose();
        _work.Dispose();
        _stopping.Dispose();
    }
}
