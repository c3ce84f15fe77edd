namespace RaftSql;

/// <summary>
/// How tasks completed by the node's loop and engine resume their awaiters. Production: off the
/// completing thread (a loop must never run a caller's code). The whole-node simulator runs everything
/// on one thread and sets <see cref="Options"/> to None once, before any node exists, so continuations
/// run inline in a deterministic order instead of on the thread pool.
/// </summary>
internal static class AsyncCompletion
{
    public static TaskCreationOptions Options { get; set; } = TaskCreationOptions.RunContinuationsAsynchronously;

    public static TaskCompletionSource Create() => new(Options);

    public static TaskCompletionSource<T> Create<T>() => new(Options);

    private static bool Inline => (Options & TaskCreationOptions.RunContinuationsAsynchronously) == 0;

    /// <summary>
    /// A task for one more awaiter of <paramref name="shared"/>. Production: <paramref name="shared"/> itself.
    /// Inline mode: a task of the caller's own, because .NET runs only the first of several awaits on one task
    /// inline and sends the others to the thread pool; ContinueWith(ExecuteSynchronously) copies stay inline.
    /// </summary>
    public static Task<T> Fork<T>(Task<T> shared)
    {
        if (!Inline || shared.IsCompleted)
            return shared;
        var own = new TaskCompletionSource<T>(Options);
        shared.ContinueWith(static (done, state) =>
        {
            var target = (TaskCompletionSource<T>)state!;
            if (done.IsCanceled)
                target.TrySetCanceled();
            else if (done.Exception is { } error)
                target.TrySetException(error.InnerExceptions);
            else
                target.TrySetResult(done.Result);
        }, own, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return own.Task;
    }

    /// <inheritdoc cref="Fork{T}(Task{T})"/>
    public static Task Fork(Task shared)
    {
        if (!Inline || shared.IsCompleted)
            return shared;
        var own = new TaskCompletionSource(Options);
        shared.ContinueWith(static (done, state) =>
        {
            var target = (TaskCompletionSource)state!;
            if (done.IsCanceled)
                target.TrySetCanceled();
            else if (done.Exception is { } error)
                target.TrySetException(error.InnerExceptions);
            else
                target.TrySetResult();
        }, own, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return own.Task;
    }
}
