using System.Diagnostics;
using RaftSql.Histories;

namespace RaftSql.Histories.Tests;

public class HistoryTests
{
    [Fact]
    public void Operations_are_recorded_with_the_supplied_clock_and_their_outcomes()
    {
        long now = 0;
        var history = new History<RegisterCall, RegisterResult>(() => ++now);
        var write = history.Invoke(1, RegisterCall.Write(0, 1));
        var read = history.Invoke(2, RegisterCall.Read(0));
        var lost = history.Invoke(3, RegisterCall.Write(0, 2));
        write.Ok(new RegisterResult());
        read.Fail();

        var ops = history.Operations();
        Assert.Equal([0L, 1L, 2L], ops.Select(o => o.Id));
        Assert.Equal((1L, 4L, Outcome.Ok), (ops[0].Invoked, ops[0].Completed!.Value, ops[0].Outcome));
        Assert.Equal((Outcome.Failed, 5L), (ops[1].Outcome, ops[1].Completed!.Value));
        Assert.Equal(Outcome.Pending, ops[2].Outcome);
        Assert.True(ops[2].IsUnknown);
        lost.Unknown();
        Assert.Null(history.Operations()[2].Completed);
        Assert.Throws<InvalidOperationException>(() => write.Fail());
    }

    [Fact]
    public void Recording_from_many_threads_keeps_every_operation()
    {
        var history = new History<RegisterCall, RegisterResult>(Stopwatch.GetTimestamp);
        Parallel.For(0, 8, p =>
        {
            for (int i = 0; i < 1000; i++)
                history.Invoke(p, RegisterCall.Write(p, i)).Ok(new RegisterResult());
        });
        var ops = history.Operations();
        Assert.Equal(8000, ops.Count);
        Assert.All(ops, o => Assert.True(o.Completed >= o.Invoked));
        Assert.Equal(8000, ops.Select(o => o.Id).Distinct().Count());
    }
}
