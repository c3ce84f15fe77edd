namespace RaftSql.Gateway;

/// <summary>
/// A first-come first-served lock that can be awaited (a SemaphoreSlim(1, 1) whose waiters resume the way
/// <see cref="AsyncCompletion"/> says and whose timeouts follow the node's clock: SemaphoreSlim's waiters
/// always resume on the thread pool, which the whole-node simulator cannot order).
/// </summary>
internal sealed class AsyncGate
{
    private readonly object _lock = new();
    private readonly LinkedList<TaskCompletionSource<bool>> _waiters = new();
    private bool _held;

    public Task WaitAsync(CancellationToken cancellationToken) =>
        WaitAsync(Timeout.InfiniteTimeSpan, TimeProvider.System, cancellationToken);

    /// <summary>True once the gate is held; false when <paramref name="timeout"/> passed first.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        LinkedListNode<TaskCompletionSource<bool>> node;
        lock (_lock)
        {
            if (!_held)
            {
                _held = true;
                return true;
            }
            cancellationToken.ThrowIfCancellationRequested();
            node = _waiters.AddLast(AsyncCompletion.Create<bool>());
        }
        await using var cancelled = cancellationToken.Register(() => Abandon(node, cancellationToken));
        using var timer = timeout == Timeout.InfiniteTimeSpan
            ? null
            : time.CreateTimer(_ => Abandon(node, null), null, timeout, Timeout.InfiniteTimeSpan);
        return await node.Value.Task.ConfigureAwait(false);
    }

    /// <summary>Takes the gate when it is free, without waiting.</summary>
    public bool TryEnter()
    {
        lock (_lock)
        {
            if (_held)
                return false;
            _held = true;
            return true;
        }
    }

    /// <summary>Waits on the calling thread (for callers that are not async).</summary>
    public bool Wait(TimeSpan timeout) => WaitAsync(timeout, TimeProvider.System, CancellationToken.None).GetAwaiter().GetResult();

    public void Release()
    {
        TaskCompletionSource<bool> next;
        lock (_lock)
        {
            if (_waiters.First is not { } first)
            {
                _held = false;
                return;
            }
            _waiters.RemoveFirst();
            next = first.Value;
        }
        next.TrySetResult(true); // the gate passes to the next waiter without being free in between
    }

    private void Abandon(LinkedListNode<TaskCompletionSource<bool>> node, CancellationToken? cancelled)
    {
        lock (_lock)
        {
            if (node.List is null)
                return; // it was handed the gate already
            _waiters.Remove(node);
        }
        if (cancelled is { } token)
            node.Value.TrySetCanceled(token);
        else
            node.Value.TrySetResult(false);
    }
}
