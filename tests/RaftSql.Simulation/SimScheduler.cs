namespace RaftSql.Simulation;

/// <summary>
/// The one thread of a simulated cluster: a virtual clock, timed events in (time, sequence) order, and a
/// FIFO of actions posted for this instant (the nodes' "background" work and completions). Everything a
/// seed does happens inside <see cref="RunUntil"/>, on the thread that created the scheduler, in an order
/// fixed by the seed. Work arriving from any other thread (a hop to the thread pool, a real timer) is a
/// determinism bug and throws at once.
/// </summary>
internal sealed class SimScheduler
{
    private readonly PriorityQueue<Action, (long Time, long Seq)> _events = new();
    private readonly Queue<Action> _posted = new();
    private readonly int _thread = Environment.CurrentManagedThreadId;
    private long _seq;

    /// <summary>Virtual time in microseconds since the start of the seed.</summary>
    public long Now { get; private set; }

    /// <summary>Called between events while nothing is posted: lets the cluster run its Raft loops.</summary>
    public Func<bool>? Idle { get; set; }

    /// <summary>The first work that arrived from another thread (also thrown to that thread).</summary>
    public string? ForeignThread { get; private set; }

    /// <summary>Runs <paramref name="action"/> at this instant, after what is posted already.</summary>
    public void Post(Action action)
    {
        ThrowIfForeign();
        _posted.Enqueue(action);
    }

    /// <summary>Calls <paramref name="then"/> on the simulator's thread once <paramref name="task"/> completes.</summary>
    public void WhenDone(Task task, Action<Task> then) =>
        task.ContinueWith(t => Post(() => then(t)), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    public void At(long time, Action action)
    {
        ThrowIfForeign();
        _events.Enqueue(action, (Math.Max(time, Now), _seq++));
    }

    public void After(long delay, Action action) => At(Now + Math.Max(0, delay), action);

    /// <summary>Runs posted work and loops, then timed events, until virtual time passes <paramref name="end"/>.</summary>
    public void RunUntil(long end)
    {
        ThrowIfForeign();
        if (SynchronizationContext.Current is not null || TaskScheduler.Current != TaskScheduler.Default)
            throw new InvalidOperationException("Run the simulation on a plain thread (SimThread): a synchronization context or task scheduler sends continuations elsewhere.");
        while (true)
        {
            Drain();
            if (!_events.TryPeek(out _, out var key) || key.Time > end)
                break;
            var action = _events.Dequeue();
            Now = key.Time;
            action();
        }
        Now = Math.Max(Now, end);
    }

    /// <summary>Runs everything that is ready now (posted work and loop batches) until nothing is.</summary>
    public void Drain()
    {
        for (var rounds = 0; ; rounds++)
        {
            if (rounds > 1_000_000)
                throw new InvalidOperationException("The simulation does not settle (a livelock at one instant).");
            if (ForeignThread is not null)
                throw new InvalidOperationException("Work reached the simulator from another thread:\n" + ForeignThread);
            if (_posted.TryDequeue(out var posted))
            {
                posted();
                continue;
            }
            if (Idle?.Invoke() == true)
                continue;
            return;
        }
    }

    private void ThrowIfForeign()
    {
        if (Environment.CurrentManagedThreadId == _thread)
            return;
        ForeignThread ??= Environment.StackTrace;
        throw new InvalidOperationException("The simulator was called from another thread (a hop it cannot order).");
    }
}
