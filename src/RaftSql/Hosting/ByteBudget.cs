namespace RaftSql.Hosting;

/// <summary>
/// Flow control for local writes: bytes proposed by this leader and not yet committed. A writer that
/// would pass the budget waits (holding SQLite's write lock, which is the back-pressure we want), so
/// a burst of big transactions cannot pile up unbounded entries in memory.
/// </summary>
internal sealed class ByteBudget(long limit)
{
    private readonly object _gate = new();
    private long _used;

    /// <summary>Takes <paramref name="bytes"/>; an amount larger than the whole budget is let through alone.</summary>
    public bool TryAcquire(long bytes, TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        lock (_gate)
        {
            while (_used > 0 && _used + bytes > limit)
            {
                var left = deadline - Environment.TickCount64;
                if (left <= 0)
                    return false;
                Monitor.Wait(_gate, (int)Math.Min(left, 100));
            }
            _used += bytes;
            return true;
        }
    }

    public void Release(long bytes)
    {
        lock (_gate)
        {
            _used = Math.Max(0, _used - bytes);
            Monitor.PulseAll(_gate);
        }
    }
}
