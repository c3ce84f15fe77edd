namespace RaftSql.Simulation;

/// <summary>
/// One node incarnation's clock: the simulator's virtual time, skewed by a constant drift, with timers
/// that fire as simulator events. A frozen node (GC pause, SIGSTOP) keeps its clock running but runs
/// nothing: its timers fire when it thaws. A crashed incarnation's timers never fire again.
/// </summary>
internal sealed class NodeClock(SimScheduler scheduler, long driftPpm, Func<long> frozenUntil) : TimeProvider
{
    private readonly SimScheduler _scheduler = scheduler;
    private readonly Func<long> _frozenUntil = frozenUntil;

    private static readonly DateTimeOffset Epoch = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public bool Dead { get; set; }

    public override long TimestampFrequency => 1_000_000;

    public override long GetTimestamp() => Local(_scheduler.Now);

    public override DateTimeOffset GetUtcNow() => Epoch.AddTicks(GetTimestamp() * 10);

    private long Local(long global) => global + global * driftPpm / 1_000_000;

    /// <summary>Virtual microseconds that pass while this clock counts <paramref name="local"/> of its own.</summary>
    private long Global(long local) => local * 1_000_000 / (1_000_000 + driftPpm);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new SimTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class SimTimer(NodeClock clock, TimerCallback callback, object? state) : ITimer
    {
        private long _version;
        private long _period = -1;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            var version = ++_version;
            _period = period == Timeout.InfiniteTimeSpan ? -1 : Math.Max(1, (long)period.TotalMicroseconds);
            if (dueTime != Timeout.InfiniteTimeSpan)
                Schedule(version, Math.Max(0, (long)dueTime.TotalMicroseconds));
            return true;
        }

        private void Schedule(long version, long localDelay) =>
            clock._scheduler.After(clock.Global(localDelay), () => Fire(version));

        private void Fire(long version)
        {
            if (version != _version || clock.Dead)
                return;
            var thaw = clock._frozenUntil();
            if (thaw > clock._scheduler.Now)
            {
                clock._scheduler.At(thaw, () => Fire(version));
                return;
            }
            if (_period > 0)
                Schedule(version, _period);
            callback(state);
        }

        public void Dispose() => _version++;

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
