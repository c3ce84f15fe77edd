using RaftSql.Histories;

namespace RaftSql.Histories.Tests;

public class RegisterCheckerTests
{
    private static Ops<RegisterCall, RegisterResult> H() => new();

    private static RegisterResult Saw(long? value) => new(value);

    private static readonly RegisterResult Done = new();

    [Fact]
    public void Sequential_writes_and_reads_are_linearizable()
    {
        var h = H().Ok(1, RegisterCall.Write(0, 1), 0, 10, Done)
            .Ok(2, RegisterCall.Read(0), 20, 30, Saw(1))
            .Ok(1, RegisterCall.Write(0, 2), 40, 50, Done)
            .Ok(2, RegisterCall.Read(0), 60, 70, Saw(2));
        Assert.True(RegisterChecker.Check(h.All).Ok);
    }

    [Fact]
    public void A_read_concurrent_with_a_write_may_see_either_value()
    {
        var before = H().Ok(1, RegisterCall.Write(0, 1), 0, 10, Done).Ok(2, RegisterCall.Read(0), 5, 8, Saw(null));
        var after = H().Ok(1, RegisterCall.Write(0, 1), 0, 10, Done).Ok(2, RegisterCall.Read(0), 5, 8, Saw(1));
        Assert.True(RegisterChecker.Check(before.All).Ok);
        Assert.True(RegisterChecker.Check(after.All).Ok);
    }

    [Fact]
    public void A_stale_read_is_not_linearizable()
    {
        var h = H().Ok(1, RegisterCall.Write(0, 1), 0, 10, Done)
            .Ok(1, RegisterCall.Write(0, 2), 20, 30, Done)
            .Ok(2, RegisterCall.Read(0), 40, 50, Saw(1));
        var result = RegisterChecker.Check(h.All);
        Assert.False(result.Ok);
        Assert.Contains("key 0: not linearizable", result.Anomalies[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Reads_that_go_back_across_processes_are_not_linearizable()
    {
        // Both reads overlap the write, but once one process saw 1 a later read cannot see nil.
        var h = H().Ok(1, RegisterCall.Write(0, 1), 0, 100, Done)
            .Ok(2, RegisterCall.Read(0), 10, 20, Saw(1))
            .Ok(3, RegisterCall.Read(0), 30, 40, Saw(null));
        Assert.False(RegisterChecker.Check(h.All).Ok);
    }

    [Fact]
    public void A_read_of_a_value_never_written_is_not_linearizable()
    {
        var h = H().Ok(1, RegisterCall.Write(0, 1), 0, 10, Done).Ok(2, RegisterCall.Read(0), 20, 30, Saw(7));
        var result = RegisterChecker.Check(h.All);
        Assert.False(result.Ok);
        Assert.Contains("a value no write wrote", result.Anomalies[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_lost_acknowledged_write_is_not_linearizable()
    {
        var h = H().Ok(1, RegisterCall.Write(0, 1), 0, 10, Done).Ok(2, RegisterCall.Read(0), 20, 30, Saw(null));
        Assert.False(RegisterChecker.Check(h.All).Ok);
    }

    [Fact]
    public void A_failed_write_must_never_be_seen()
    {
        var h = H().Failed(1, RegisterCall.Write(0, 5), 0, 10).Ok(2, RegisterCall.Read(0), 20, 30, Saw(5));
        Assert.False(RegisterChecker.Check(h.All).Ok);
    }

    [Fact]
    public void A_write_with_unknown_outcome_may_take_effect_late_or_never()
    {
        var late = H().Unknown(1, RegisterCall.Write(0, 1), 0)
            .Ok(2, RegisterCall.Read(0), 10, 20, Saw(null))
            .Ok(2, RegisterCall.Read(0), 1000, 1010, Saw(1))
            .Ok(2, RegisterCall.Read(0), 2000, 2010, Saw(1));
        var never = H().Unknown(1, RegisterCall.Write(0, 1), 0).Ok(2, RegisterCall.Read(0), 10, 20, Saw(null));
        Assert.True(RegisterChecker.Check(late.All).Ok);
        Assert.True(RegisterChecker.Check(never.All).Ok);
    }

    [Fact]
    public void A_write_with_unknown_outcome_cannot_take_effect_before_it_was_invoked_or_twice()
    {
        var early = H().Ok(2, RegisterCall.Read(0), 0, 5, Saw(1)).Unknown(1, RegisterCall.Write(0, 1), 10);
        var twice = H().Unknown(1, RegisterCall.Write(0, 1), 0)
            .Ok(2, RegisterCall.Read(0), 10, 20, Saw(1))
            .Ok(3, RegisterCall.Write(0, 2), 30, 40, Done)
            .Ok(2, RegisterCall.Read(0), 50, 60, Saw(1));
        Assert.False(RegisterChecker.Check(early.All).Ok);
        Assert.False(RegisterChecker.Check(twice.All).Ok);
    }

    [Fact]
    public void Compare_and_set_succeeds_only_on_the_expected_value()
    {
        var good = H().Ok(1, RegisterCall.Write(0, 1), 0, 10, Done)
            .Ok(2, RegisterCall.Cas(0, 1, 2), 20, 30, Done)
            .Ok(3, RegisterCall.Cas(0, 1, 3), 40, 50, new RegisterResult(Succeeded: false))
            .Ok(3, RegisterCall.Read(0), 60, 70, Saw(2));
        var failedOnMatch = H().Ok(1, RegisterCall.Write(0, 1), 0, 10, Done)
            .Ok(2, RegisterCall.Cas(0, 1, 2), 20, 30, new RegisterResult(Succeeded: false));
        var succeededOnMismatch = H().Ok(1, RegisterCall.Write(0, 1), 0, 10, Done)
            .Ok(2, RegisterCall.Cas(0, 5, 2), 20, 30, Done);
        Assert.True(RegisterChecker.Check(good.All).Ok);
        Assert.False(RegisterChecker.Check(failedOnMatch.All).Ok);
        Assert.False(RegisterChecker.Check(succeededOnMismatch.All).Ok);
    }

    [Fact]
    public void Keys_are_checked_independently_and_reported_by_key()
    {
        var h = H().Ok(1, RegisterCall.Write(1, 1), 0, 10, Done)
            .Ok(1, RegisterCall.Write(2, 1), 0, 10, Done)
            .Ok(2, RegisterCall.Read(1), 20, 30, Saw(1))
            .Ok(2, RegisterCall.Read(2), 20, 30, Saw(null));
        var result = RegisterChecker.Check(h.All);
        Assert.Single(result.Anomalies);
        Assert.StartsWith("key 2:", result.Anomalies[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_long_concurrent_history_from_an_atomic_register_is_linearizable()
    {
        var ops = SimulatedRegister(seed: 7, processes: 6, operations: 4000);
        Assert.Contains(ops, o => o.IsUnknown);
        Assert.True(RegisterChecker.Check(ops, initialValue: 0).Ok);
    }

    [Fact]
    public void A_stale_read_late_in_a_concurrent_history_is_found()
    {
        var ops = SimulatedRegister(seed: 11, processes: 4, operations: 300);
        int victim = ops.FindLastIndex(o => o.IsOk && o.Call.Kind == RegisterOpKind.Read && o.Result!.Value != 0);
        ops[victim] = ops[victim] with { Result = new RegisterResult(0) }; // the initial value, long overwritten
        Assert.False(RegisterChecker.Check(ops, initialValue: 0).Ok);
    }

    /// <summary>Processes call an atomic register with random overlapping timings; some calls lose their answer.</summary>
    private static List<Operation<RegisterCall, RegisterResult>> SimulatedRegister(int seed, int processes, int operations)
    {
        var random = new Random(seed);
        var ops = new List<Operation<RegisterCall, RegisterResult>>();
        var value = new Dictionary<long, long>();
        long now = 0;
        long nextValue = 1;
        // Each process: (call, invoked, linearization time, completion time); applied at its linearization time.
        var running = new (RegisterCall Call, long Invoked, long At, long Done, bool Applied, RegisterResult Result)?[processes];
        while (ops.Count < operations)
        {
            now++;
            for (int p = 0; p < processes; p++)
            {
                if (running[p] is null && random.Next(3) == 0)
                {
                    long key = random.Next(3);
                    RegisterCall call = random.Next(3) switch
                    {
                        0 => RegisterCall.Read(key),
                        1 => RegisterCall.Write(key, nextValue++),
                        _ => RegisterCall.Cas(key, value.GetValueOrDefault(key), nextValue++),
                    };
                    long at = now + random.Next(1, 20);
                    running[p] = (call, now, at, at + random.Next(1, 20), false, new RegisterResult());
                }
                if (running[p] is { } r && !r.Applied && r.At == now)
                {
                    long current = value.GetValueOrDefault(r.Call.Key);
                    RegisterResult result = r.Call.Kind switch
                    {
                        RegisterOpKind.Read => new RegisterResult(current),
                        RegisterOpKind.Write => new RegisterResult(),
                        _ => new RegisterResult(Succeeded: current == r.Call.Expected),
                    };
                    if (r.Call.Kind == RegisterOpKind.Write || (r.Call.Kind == RegisterOpKind.Cas && result.Succeeded))
                        value[r.Call.Key] = r.Call.Value!.Value;
                    running[p] = r with { Applied = true, Result = result };
                }
                if (running[p] is { } d && d.Done == now)
                {
                    bool lost = random.Next(20) == 0;
                    ops.Add(new(ops.Count, p, d.Call, d.Invoked, lost ? null : now, lost ? Outcome.Unknown : Outcome.Ok, lost ? default : d.Result));
                    running[p] = null;
                }
            }
        }
        return ops;
    }
}
