namespace RaftSql.Hosting;

/// <summary>
/// What a node takes from its surroundings besides sockets: the clock, the Raft log's files, where background work
/// runs, whether the Raft loop has a thread of its own, and the seed of its election timeouts. Production
/// uses <see cref="Production"/>; the whole-node simulator injects a seeded clock and a single-threaded
/// scheduler and steps the loop itself (<see cref="RaftHost.RunOnce"/>), so one seed gives one trace.
/// </summary>
internal sealed class NodeRuntime
{
    public static NodeRuntime Production { get; } = new();

    /// <summary>Ticks, leases, request deadlines and retry delays.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Where blocking work (SQLite statements, snapshot streams) runs: null, the thread pool; else a
    /// dispatcher that runs each action later on the simulator's thread (outside any TaskScheduler, so that
    /// continuations stay on that thread).</summary>
    public Action<Action>? Dispatch { get; init; }

    /// <summary>True: no loop thread; the owner calls <see cref="RaftHost.RunOnce"/> to run queued work.</summary>
    public bool ManualLoop { get; init; }

    /// <summary>The files under the Raft log store (a simulated disk in the simulator).</summary>
    public Storage.IStorageFiles Files { get; init; } = Storage.DiskFiles.Instance;

    /// <summary>Seeds the core's election timeouts; null: a random seed.</summary>
    public ulong? RandomSeed { get; init; }

    /// <summary>Runs <paramref name="work"/> on <see cref="Work"/> (Task.Run in production).</summary>
    public Task<T> Run<T>(Func<T> work, CancellationToken cancellationToken)
    {
        if (Dispatch is null)
            return Task.Run(work, cancellationToken);
        var done = AsyncCompletion.Create<T>();
        Dispatch(() =>
        {
            if (cancellationToken.IsCancellationRequested)
            {
                done.TrySetCanceled(cancellationToken);
                return;
            }
            try
            {
                done.TrySetResult(work());
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        });
        return done.Task;
    }

    public Task Run(Func<Task> work, CancellationToken cancellationToken) =>
        Dispatch is null ? Task.Run(work, cancellationToken) : Run<Task>(work, cancellationToken).Unwrap();

    /// <summary>The clock in whole milliseconds (Environment.TickCount64 in production).</summary>
    public long NowMilliseconds => Time.GetTimestamp() * 1000 / Time.TimestampFrequency;
}
