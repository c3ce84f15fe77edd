namespace RaftSql.Hosting;

/// <summary>
/// The host's ReadIndex rounds. Reads share rounds: a read joins the next round, which starts after it
/// arrived (joining a round already in flight could return an index older than a write acknowledged
/// before the read began). Up to <see cref="MaxInFlight"/> rounds are in flight at once, so a round trip
/// to the leader does not cap the read rate at one batch per round trip.
/// </summary>
internal sealed class ReadRounds
{
    /// <summary>Rounds in flight at once: each costs one message to the leader and one heartbeat round there.</summary>
    public const int MaxInFlight = 4;

    private readonly object _gate = new();
    private TaskCompletionSource<ulong>? _next;

    // Loop-thread state.
    private readonly Dictionary<ulong, (TaskCompletionSource<ulong> Round, long Started)> _inFlight = [];
    private ulong _sequence;

    /// <summary>Any thread: the round the caller's read waits for. The loop must then call <see cref="TryStart"/>.</summary>
    public Task<ulong> Join()
    {
        lock (_gate)
        {
            _next ??= AsyncCompletion.Create<ulong>();
            return AsyncCompletion.Fork(_next.Task);
        }
    }

    /// <summary>Loop thread: takes the collected round if there is one and fewer than <see cref="MaxInFlight"/> are in flight.</summary>
    public bool TryStart(long now, out ulong id)
    {
        id = 0;
        TaskCompletionSource<ulong> round;
        if (_inFlight.Count >= MaxInFlight)
            return false;
        lock (_gate)
        {
            if (_next is null)
                return false;
            round = _next;
            _next = null;
        }
        id = ++_sequence;
        _inFlight[id] = (round, now);
        return true;
    }

    /// <summary>Loop thread: the leader answered round <paramref name="id"/>.</summary>
    public void Complete(ulong id, ulong index)
    {
        if (_inFlight.Remove(id, out var read))
            read.Round.TrySetResult(index);
    }

    /// <summary>Loop thread: a round that could not be sent fails at once.</summary>
    public void Fail(ulong id, Exception error)
    {
        if (_inFlight.Remove(id, out var read))
            read.Round.TrySetException(error);
    }

    /// <summary>Loop thread: rounds that got no answer since <paramref name="timeoutMs"/> (their messages were lost)
    /// are sent again under new ids; each new round still goes out after its reads arrived.</summary>
    public List<ulong> Reissue(long now, long timeoutMs)
    {
        List<ulong> reissued = [];
        foreach (var (id, read) in _inFlight.ToList())
        {
            if (now - read.Started <= timeoutMs)
                continue;
            _inFlight.Remove(id);
            var newId = ++_sequence;
            _inFlight[newId] = (read.Round, now);
            reissued.Add(newId);
        }
        return reissued;
    }

    /// <summary>Loop thread: fails every round, in flight or collecting (the leader changed, or the node stops).</summary>
    public void FailAll(Exception error)
    {
        foreach (var (_, read) in _inFlight)
            read.Round.TrySetException(error);
        _inFlight.Clear();
        TaskCompletionSource<ulong>? next;
        lock (_gate)
        {
            next = _next;
            _next = null;
        }
        next?.TrySetException(error);
    }
}
