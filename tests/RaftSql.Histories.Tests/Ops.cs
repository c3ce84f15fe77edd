using RaftSql.Histories;

namespace RaftSql.Histories.Tests;

/// <summary>Builds histories with explicit times for the checker tests.</summary>
internal sealed class Ops<TCall, TResult>
{
    private readonly List<Operation<TCall, TResult>> _ops = [];

    public Ops<TCall, TResult> Ok(int process, TCall call, long invoked, long completed, TResult result) =>
        Add(new(_ops.Count, process, call, invoked, completed, Outcome.Ok, result));

    public Ops<TCall, TResult> Failed(int process, TCall call, long invoked, long completed) =>
        Add(new(_ops.Count, process, call, invoked, completed, Outcome.Failed, default));

    public Ops<TCall, TResult> Unknown(int process, TCall call, long invoked) =>
        Add(new(_ops.Count, process, call, invoked, null, Outcome.Unknown, default));

    public IReadOnlyList<Operation<TCall, TResult>> All => _ops;

    private Ops<TCall, TResult> Add(Operation<TCall, TResult> op)
    {
        _ops.Add(op);
        return this;
    }
}
