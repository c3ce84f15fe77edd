namespace RaftSql.Simulation;

/// <summary>
/// The one thread of a simulated cluster: a virtual clock, timed events in (time, sequence) order, and
/// a FIFO of ready tasks (the nodes' "background" work, run as a <see cref="TaskScheduler"/>). Everything
/// a seed does happens inside <see cref="RunUntil"/>, in an order fixed by the seed.
/// </summary>
internal sealed class SimScheduler : TaskScheduler
{
    private readonly PriorityQueue<Action, (long Time, long Seq)> _events = new();
    private readonly Queue<Task> _ready = new();
    private readonly Queue<Action> _posted = new();
    private long _seq;

    /// <summary>Virtual time in microseconds since the start of the seed.</summary>
    public long Now { get; private set; }

    /// <summary>Called between events while nothing is ready: lets the cluster run its Raft loops.</summary>
    public Func<bool>? Idle { get; set; }

    /// <summary>Runs <paramref name="action"/> at this instant, after what is ready already.</summary>
    public void Post(Action action)
    {
        _thread ??= Environment.CurrentManagedThreadId;
        if (_thread != Environment.CurrentManagedThreadId)
            ForeignThread ??= Environment.StackTrace;
        _posted.Enqueue(action);
    }

    /// <summary>Calls <paramref name="then"/> on the simulator's thread once <paramref name="task"/> completes.</summary>
    public void WhenDone(Task task, Action<Task> then) =>
        task.ContinueWith(t => Post(() => then(t)), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, Default);

    public void At(long time, Action action) => _events.Enqueue(action, (Math.Max(time, Now), _seq++));

    public void After(long delay, Action action) => At(Now + Math.Max(0, delay), action);

    /// <summary>Runs ready tasks and loops, then timed events, until virtual time passes <paramref name="end"/>.</summary>
    public void RunUntil(long end)
    {
        // xunit's context would send every continuation to the thread pool.
        SynchronizationContext.SetSynchronizationContext(null);
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

    /// <summary>Runs everything that is ready now (tasks and loop batches) until nothing is.</summary>
    public void Drain()
    {
        for (var rounds = 0; ; rounds++)
        {
            if (rounds > 1_000_000)
                throw new InvalidOperationException("The simulation does not settle (a livelock at one instant).");
            if (_posted.TryDequeue(out var posted))
            {
                posted();
                continue;
            }
            if (_ready.TryDequeue(out var task))
            {
                TryExecuteTask(task);
                continue;
            }
            if (Idle?.Invoke() == true)
                continue;
            return;
        }
    }

    private int? _thread;

    /// <summary>Work that arrived from another thread: a hop the simulator does not control (a bug in the harness
    /// or an uninjected thread pool use in the product).</summary>
    public string? ForeignThread { get; private set; }

    protected override void QueueTask(Task task)
    {
        _thread ??= Environment.CurrentManagedThreadId;
        if (_thread != Environment.CurrentManagedThreadId)
            ForeignThread ??= Environment.StackTrace;
        _ready.Enqueue(task);
    }

    // Never inline: a task runs when its turn in the FIFO comes, as on a pool, but in a fixed order.
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false;

    protected override IEnumerable<Task> GetScheduledTasks() => _ready;

    public override int MaximumConcurrencyLevel => 1;
}
