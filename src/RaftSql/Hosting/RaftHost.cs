using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using RaftSql.Raft;
using RaftSql.Sqlite;

namespace RaftSql.Hosting;

/// <summary>
/// Drives the pure Raft core: one loop thread owns the core, the log store and the apply path. Work
/// (ticks, peer messages, proposals, reads) is posted to the loop; after each batch the loop drains the
/// core's Readies: persist (one fsync), send, apply in log order, advance.
/// </summary>
internal sealed partial class RaftHost : IFrameCommitter, IAsyncDisposable
{
    private readonly NodeOptions _options;
    private readonly RaftLogStore _store;
    private readonly ReplicationEngine _engine;
    private readonly RaftNode _core;
    private readonly ILogger _logger;
    private readonly BlockingCollection<Action> _work = new();
    private readonly Thread _loop;
    private readonly Timer _ticker;
    private readonly CancellationTokenSource _stopping = new();

    // Loop-thread state.
    private readonly Dictionary<ulong, (ulong Term, PendingCommit Commit)> _localCommits = [];
    private readonly Dictionary<ulong, (ulong Term, TaskCompletionSource Done)> _confChanges = [];
    private readonly Dictionary<ulong, TaskCompletionSource<ulong>> _reads = [];
    private readonly PriorityQueue<TaskCompletionSource, ulong> _appliedWaiters = new();
    private ulong _readSequence;
    private ulong _writeBarrier = ulong.MaxValue;
    private ulong _applied;
    private (RaftState State, ulong Leader, ulong Term) _seen;

    private volatile HostStatus _status = HostStatus.Initial;
    private volatile bool _stopped;
    private int _disposed;

    public RaftHost(NodeOptions options, RaftLogStore store, Func<IFrameCommitter, ReplicationEngine> createEngine,
        PeerNetwork network, ILogger logger)
    {
        _options = options;
        _store = store;
        _logger = logger;
        Network = network;
        _engine = createEngine(this);

        var snapshot = store.Snapshot();
        var commit = Math.Max(store.HardState.Commit, snapshot.Index);
        // Entries up to the engine's durable index survived in the database files; replay the rest.
        _applied = Math.Clamp(_engine.DurableIndex(), snapshot.Index, commit);
        _core = new RaftNode(BuildConfig(options), store, _applied);
        // Where the last membership change before the restart was is not known: compact no lower than here.
        _lastConfChangeIndex = _applied;
        Network.UpdateMembership(_core.Status.Membership);
        Publish();
        HostLog.Started(logger, options.Id, _applied, store.FirstIndex, store.LastIndex);

        _loop = new Thread(RunLoop) { IsBackground = true, Name = $"raft-{options.Id}" };
        _loop.Start();
        _ticker = new Timer(_ => Post(_core.Tick), null, options.HeartbeatInterval, options.HeartbeatInterval);
    }

    public ReplicationEngine Engine => _engine;

    public PeerNetwork Network { get; }

    public HostStatus Status => _status;

    /// <summary>Raised on the loop thread when this node stops being the leader.</summary>
    public event Action? LeadershipLost;

    private static RaftConfig BuildConfig(NodeOptions options)
    {
        var electionTicks = (int)Math.Max(2, Math.Round(options.ElectionTimeout / options.HeartbeatInterval));
        return new RaftConfig
        {
            Id = options.Id,
            HeartbeatTicks = 1,
            ElectionTicks = electionTicks,
            // One tick for clock drift, one because the lease flag is published once per loop batch.
            LeaseDriftTicks = Math.Min(2, electionTicks - 1),
            Random = new SeededRandomSource((ulong)Random.Shared.NextInt64(1, long.MaxValue)),
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
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_stopped)
        {
            tcs.SetException(Stopped());
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
        return tcs.Task;
    }

    private void RunLoop()
    {
        try
        {
            foreach (var first in _work.GetConsumingEnumerable())
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
        }
        catch (Exception ex)
        {
            HostLog.LoopFailed(_logger, ex);
            _stopped = true;
            FailEverything(new RaftSqlException(RaftSqlErrorCode.NodeStopped, "The node's Raft loop failed: " + ex.Message, ex));
        }
    }

    private void Execute(Action action)
    {
        action();
        ObserveRoleChange();
    }

    private void HandleReady(Ready ready)
    {
        if (ready.Snapshot is { } snapshot)
            InstallStagedSnapshot(snapshot);
        // A leader's appends and heartbeats go out before its own fsync: followers write in parallel with
        // it (Raft thesis 10.2.1). This is safe because the core counts the leader's own entries towards
        // a commit only after Advance, i.e. once they are durable here. Everything else (votes, answers)
        // waits until the state it reveals is durable.
        foreach (var message in ready.Messages)
        {
            if (message.Type is MessageType.Append or MessageType.Heartbeat)
                Send(message);
        }
        _store.Persist(ready.Snapshot, ready.Entries, ready.HardState);
        foreach (var message in ready.Messages)
        {
            if (message.Type is not (MessageType.Append or MessageType.Heartbeat))
                Send(message);
        }
        foreach (var entry in ready.CommittedEntries)
            Apply(entry);
        foreach (var read in ready.ReadStates)
        {
            if (_reads.Remove(read.RequestId, out var tcs))
                tcs.TrySetResult(read.Index);
        }
        _core.Advance(ready);
        if (ready.CommittedEntries.Any(e => e.Type == EntryType.ConfChange) || ready.Snapshot is not null)
        {
            var membership = _core.Status.Membership;
            Network.UpdateMembership(membership);
            HostLog.MembershipChanged(_logger, membership);
        }
        ObserveRoleChange();
    }

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
        else if (!entry.Data.IsEmpty)
        {
            if (_localCommits.Remove(entry.Index, out var local))
            {
                // Our own transaction, waiting in its commit frame's write: complete it in place.
                if (local.Term == entry.Term) local.Commit.Commit(entry.Index);
                else local.Commit.Fail(Lost(entry.Index));
            }
            _engine.ApplyCommitted(entry.Index, entry.Data.Span);
        }
        _applied = entry.Index;
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
        _seen = now;
        HostLog.RoleChanged(_logger, _options.Id, now.State, now.Term, now.Leader);
        if (now.State == RaftState.Leader && !wasLeader)
        {
            // The no-op of the new term was just appended: local writes wait until it is applied, so the
            // apply loop never needs a SQLite write lock that a local transaction holds.
            _writeBarrier = _core.Status.LastIndex;
        }
        else if (wasLeader && now.State != RaftState.Leader)
        {
            _writeBarrier = ulong.MaxValue;
            var lost = new RaftSqlException(RaftSqlErrorCode.OutcomeUnknown,
                "Leadership was lost before the write was known to commit; it may or may not have been applied.");
            foreach (var (_, local) in _localCommits) local.Commit.Fail(lost);
            _localCommits.Clear();
            foreach (var (_, change) in _confChanges) change.Done.TrySetException(lost);
            _confChanges.Clear();
            _engine.FailPendingCommits(lost);
            LeadershipLost?.Invoke();
        }
        if (now.Leader != 0 && now.State != RaftState.Leader)
        {
            // Reads queued with a leader that is gone would only time out: let their callers retry.
            foreach (var (_, read) in _reads)
                read.TrySetException(new RaftSqlException(RaftSqlErrorCode.NoLeader, "The leader changed during the read."));
            _reads.Clear();
        }
    }

    private void Publish()
    {
        var status = _core.Status;
        _status = new HostStatus(
            status.Term, status.State, status.Leader, status.Commit, _applied, status.Membership,
            status.State == RaftState.Leader && _core.LeaseValid,
            status.State == RaftState.Leader && _applied >= _writeBarrier);
    }

    // ---- IFrameCommitter: local write transactions on the leader --------------------------------

    /// <summary>Called on SQLite's thread while it waits in the commit frame's write.</summary>
    public void Submit(PendingCommit commit)
    {
        var data = commit.Frames.Encode();
        LocalCommitTracker.Track(commit);
        if (_stopped)
        {
            commit.Fail(Stopped());
            return;
        }
        Post(() =>
        {
            var result = _core.Propose(data);
            if (result.Accepted)
                _localCommits[result.Index] = (result.Term, commit);
            else
                commit.Fail(ProposeFailure(result));
        });
    }

    // ---- requests from the node and the gateway ------------------------------------------------

    /// <summary>A ReadIndex round: the index a linearizable read must wait for.</summary>
    public async Task<ulong> ReadIndexAsync(CancellationToken cancellationToken)
    {
        var tcs = new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            var id = ++_readSequence;
            if (_core.Leader == 0)
            {
                tcs.TrySetException(NoLeader());
                return;
            }
            _reads[id] = tcs;
            if (!_core.ReadIndex(id))
            {
                _reads.Remove(id);
                tcs.TrySetException(NoLeader());
            }
        });
        return await tcs.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Completes once this node has applied <paramref name="index"/>.</summary>
    public Task WaitForAppliedAsync(ulong index, CancellationToken cancellationToken)
    {
        if (_status.Applied >= index)
            return Task.CompletedTask;
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            if (_applied >= index) tcs.TrySetResult();
            else _appliedWaiters.Enqueue(tcs, index);
        });
        return tcs.Task.WaitAsync(cancellationToken);
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
                    tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
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
            await Task.Delay(_options.HeartbeatInterval, cancellationToken).ConfigureAwait(false);
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

    // ---- failures --------------------------------------------------------------------------------

    private RaftSqlException ProposeFailure(ProposeResult result) => result.Status switch
    {
        ProposeStatus.NotLeader when result.LeaderHint == 0 => NoLeader(),
        ProposeStatus.NotLeader => new RaftSqlException(RaftSqlErrorCode.NotLeader, $"Node {_options.Id} is not the leader (node {result.LeaderHint} is)."),
        ProposeStatus.TransferInProgress => new RaftSqlException(RaftSqlErrorCode.NotLeader, "Leadership is being transferred; retry on the new leader."),
        ProposeStatus.ConfChangeNotReady => new RaftSqlException(RaftSqlErrorCode.MembershipChangeRejected, "Another membership change is in progress."),
        ProposeStatus.InvalidConfChange => new RaftSqlException(RaftSqlErrorCode.MembershipChangeRejected, "The membership change is not allowed (unknown member, or no voter would be left)."),
        _ => new RaftSqlException(RaftSqlErrorCode.MessageTooLarge, "The write is too large for one Raft entry, or too much is waiting to commit."),
    };

    private static RaftSqlException Lost(ulong index) =>
        new(RaftSqlErrorCode.OutcomeUnknown, $"Entry {index} was replaced by a new leader's log; the write did not commit.");

    private static RaftSqlException NoLeader() =>
        new(RaftSqlErrorCode.NoLeader, "No leader is known: the cluster is electing one, or this node is cut off from the majority.");

    private static RaftSqlException Stopped() => new(RaftSqlErrorCode.NodeStopped, "The node is stopped.");

    private void FailEverything(RaftSqlException reason)
    {
        foreach (var (_, local) in _localCommits) local.Commit.Fail(reason);
        _localCommits.Clear();
        foreach (var (_, change) in _confChanges) change.Done.TrySetException(reason);
        _confChanges.Clear();
        foreach (var (_, read) in _reads) read.TrySetException(reason);
        _reads.Clear();
        while (_appliedWaiters.TryDequeue(out var waiter, out _)) waiter.TrySetException(reason);
        _engine.FailPendingCommits(reason);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await _ticker.DisposeAsync().ConfigureAwait(false);
        if (!_stopped)
        {
            var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Post(() =>
            {
                _stopped = true;
                FailEverything(Stopped());
                drained.TrySetResult();
            });
            await drained.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        _work.CompleteAdding();
        _loop.Join();
        _stopping.Cancel();
        await StopSnapshotsAsync().ConfigureAwait(false);
        await Network.DisposeAsync().ConfigureAwait(false);
        await _engine.DisposeAsync().ConfigureAwait(false);
        _store.Dispose();
        _work.Dispose();
        _stopping.Dispose();
    }
}
