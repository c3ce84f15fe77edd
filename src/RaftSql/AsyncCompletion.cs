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
}
