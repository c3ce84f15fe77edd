using RaftSql.Raft;

namespace RaftSql.Hosting;

/// <summary>Failures: the errors requests get, and what happens to them when the loop fails or the node stops.</summary>
internal sealed partial class RaftHost
{
    /// <summary>Throws NodeStopped when the node's Raft loop failed or the node stopped: it can no longer
    /// serve anything that claims more than its local copy.</summary>
    public void ThrowIfStopped()
    {
        if (_failure is { } failure)
            throw new RaftSqlException(RaftSqlErrorCode.NodeStopped, failure.Message, failure);
        if (_stopped)
            throw Stopped();
    }

    /// <summary>Waits for <paramref name="task"/>, completed by the loop; fails with NodeStopped when the loop
    /// stops first (work posted just before it stopped would never run).</summary>
    private async Task UnlessHaltedAsync(Task task, CancellationToken cancellationToken)
    {
        if (await Task.WhenAny(task, _halted.Task).WaitAsync(cancellationToken).ConfigureAwait(false) != task)
        {
            ThrowIfStopped();
        }
        await task.ConfigureAwait(false);
    }

    private async Task<T> UnlessHaltedAsync<T>(Task<T> task, CancellationToken cancellationToken)
    {
        await UnlessHaltedAsync((Task)task, cancellationToken).ConfigureAwait(false);
        return await task.ConfigureAwait(false);
    }

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
        _admitting = false;
        foreach (var (_, change) in _confChanges) change.Done.TrySetException(reason);
        _confChanges.Clear();
        _reads.FailAll(reason);
        while (_appliedWaiters.TryDequeue(out var waiter, out _)) waiter.TrySetException(reason);
        // A writer waiting for the byte budget holds its database's write lock: free it before the cut.
        ReleaseOwnEntries();
        try
        {
            LeadershipLost?.Invoke();
            _engine.CutTails(reason, ReadLog);
        }
        catch (Exception ex) when (ex is RaftSqlException or IOException or ObjectDisposedException)
        {
            HostLog.LoopFailed(_logger, ex);
        }
    }
}
