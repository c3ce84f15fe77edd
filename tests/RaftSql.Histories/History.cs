namespace RaftSql.Histories;

/// <summary>How an operation ended, as the client saw it.</summary>
public enum Outcome
{
    /// <summary>Still running (only in a snapshot taken before it completed; checkers treat it as <see cref="Unknown"/>).</summary>
    Pending = 0,

    /// <summary>Acknowledged: it took effect exactly once, between its invocation and its completion.</summary>
    Ok = 1,

    /// <summary>Definitely failed before it could take effect (for example refused by a follower, or a
    /// transaction rolled back before its commit was sent): it never takes effect.</summary>
    Failed = 2,

    /// <summary>No answer (timeout, lost connection, OutcomeUnknown): it may take effect at any time after its
    /// invocation, or never.</summary>
    Unknown = 3,
}

/// <summary>One recorded operation. Times come from the clock the <see cref="History{TCall, TResult}"/> was given.</summary>
/// <param name="Id">Sequence number in invocation order, from 0.</param>
/// <param name="Process">The client (session) that ran it; one process runs one operation at a time.</param>
/// <param name="Call">What was asked.</param>
/// <param name="Invoked">Clock reading before the request was sent.</param>
/// <param name="Completed">Clock reading after the answer arrived; null when the outcome is not <see cref="Outcome.Ok"/>
/// or <see cref="Outcome.Failed"/>.</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Result">The answer, for <see cref="Outcome.Ok"/> operations.</param>
public sealed record Operation<TCall, TResult>(
    long Id, int Process, TCall Call, long Invoked, long? Completed, Outcome Outcome, TResult? Result)
{
    /// <summary>True when the operation was acknowledged.</summary>
    public bool IsOk => Outcome == Outcome.Ok;

    /// <summary>True when the operation may or may not have taken effect.</summary>
    public bool IsUnknown => Outcome is Outcome.Unknown or Outcome.Pending;
}

/// <summary>
/// A thread-safe recorder of operations. Call <see cref="Invoke"/> just before sending a request and complete
/// the returned <see cref="Invocation{TCall, TResult}"/> once with <see cref="Invocation{TCall, TResult}.Ok"/>,
/// <see cref="Invocation{TCall, TResult}.Fail"/> or <see cref="Invocation{TCall, TResult}.Unknown"/>.
/// </summary>
/// <remarks>The clock must be monotonic (never go back) and shared by every process, for example
/// <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> or a simulator's virtual time.</remarks>
public sealed class History<TCall, TResult>
{
    private readonly Func<long> _clock;
    private readonly List<Invocation<TCall, TResult>> _invocations = [];
    private readonly Lock _lock = new();

    /// <summary>Creates an empty history timed by <paramref name="clock"/>.</summary>
    public History(Func<long> clock)
    {
        ArgumentNullException.ThrowIfNull(clock);
        _clock = clock;
    }

    /// <summary>The number of operations invoked so far.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
                return _invocations.Count;
        }
    }

    /// <summary>Records that <paramref name="process"/> invokes <paramref name="call"/> now.</summary>
    public Invocation<TCall, TResult> Invoke(int process, TCall call)
    {
        lock (_lock)
        {
            var invocation = new Invocation<TCall, TResult>(this, _invocations.Count, process, call, _clock());
            _invocations.Add(invocation);
            return invocation;
        }
    }

    /// <summary>The operations so far, in invocation order; those still running appear as <see cref="Outcome.Pending"/>.</summary>
    public IReadOnlyList<Operation<TCall, TResult>> Operations()
    {
        lock (_lock)
            return [.. _invocations.Select(i => i.ToOperation())];
    }

    internal long Now() => _clock();

    internal Lock Sync => _lock;
}

/// <summary>An operation in flight; complete it exactly once.</summary>
public sealed class Invocation<TCall, TResult>
{
    private readonly History<TCall, TResult> _history;
    private Outcome _outcome;
    private long? _completed;
    private TResult? _result;

    internal Invocation(History<TCall, TResult> history, long id, int process, TCall call, long invoked)
    {
        _history = history;
        Id = id;
        Process = process;
        Call = call;
        Invoked = invoked;
    }

    /// <summary>The operation's sequence number.</summary>
    public long Id { get; }

    /// <summary>The process that invoked it.</summary>
    public int Process { get; }

    /// <summary>What was asked.</summary>
    public TCall Call { get; }

    /// <summary>When it was invoked.</summary>
    public long Invoked { get; }

    /// <summary>The operation was acknowledged with <paramref name="result"/>.</summary>
    public void Ok(TResult result) => Complete(Outcome.Ok, result, timed: true);

    /// <summary>The operation definitely did not take effect.</summary>
    public void Fail() => Complete(Outcome.Failed, default, timed: true);

    /// <summary>The outcome is unknown: it may take effect later, or never.</summary>
    public void Unknown() => Complete(Outcome.Unknown, default, timed: false);

    internal Operation<TCall, TResult> ToOperation() => new(Id, Process, Call, Invoked, _completed, _outcome, _result);

    private void Complete(Outcome outcome, TResult? result, bool timed)
    {
        lock (_history.Sync)
        {
            if (_outcome != Outcome.Pending)
                throw new InvalidOperationException($"Operation {Id} already completed as {_outcome}.");
            _outcome = outcome;
            _result = result;
            _completed = timed ? _history.Now() : null;
        }
    }
}
