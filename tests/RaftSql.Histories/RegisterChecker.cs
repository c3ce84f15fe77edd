namespace RaftSql.Histories;

/// <summary>
/// Checks that a history of register operations is linearizable, key by key (a register's history is
/// linearizable when each key's is). The search is Wing and Gong's, with Lowe's memoization on
/// (set of linearized operations, register value), as in Porcupine and Knossos.
/// </summary>
/// <remarks>
/// Acknowledged operations take effect between invocation and completion; operations with an unknown outcome
/// may take effect at any time after their invocation, or never, and their answer is not known; failed
/// operations never take effect and are left out, as are reads whose answer never came.
/// </remarks>
public static class RegisterChecker
{
    /// <summary>Checks <paramref name="operations"/>; every register starts at <paramref name="initialValue"/>.</summary>
    /// <param name="operations">The history (any order).</param>
    /// <param name="initialValue">Every key's value before the first write.</param>
    /// <param name="maxStepsPerKey">Search steps allowed per key before the key is reported as inconclusive.</param>
    public static CheckResult Check(IEnumerable<Operation<RegisterCall, RegisterResult>> operations, long? initialValue = null,
        long maxStepsPerKey = 50_000_000)
    {
        ArgumentNullException.ThrowIfNull(operations);
        var anomalies = new List<string>();
        foreach (var key in operations.Where(Matters).GroupBy(o => o.Call.Key).OrderBy(g => g.Key))
        {
            if (CheckKey([.. key], initialValue, maxStepsPerKey) is { } anomaly)
                anomalies.Add($"key {key.Key}: {anomaly}");
        }
        return new CheckResult(anomalies);
    }

    private static bool Matters(Operation<RegisterCall, RegisterResult> op) => op.Outcome switch
    {
        Outcome.Ok => true,
        Outcome.Failed => false,
        _ => op.Call.Kind != RegisterOpKind.Read, // a read without an answer constrains nothing
    };

    private sealed class Entry
    {
        public required int Op;
        public required bool IsCall;
        public required long Time;
        public Entry? Match;
        public Entry? Prev;
        public Entry? Next;
    }

    private static string? CheckKey(List<Operation<RegisterCall, RegisterResult>> ops, long? initial, long maxSteps)
    {
        // Events in time order; at equal times calls come first (the operations are then taken as concurrent).
        var events = new List<Entry>(ops.Count * 2);
        for (int i = 0; i < ops.Count; i++)
        {
            var call = new Entry { Op = i, IsCall = true, Time = ops[i].Invoked };
            var ret = new Entry { Op = i, IsCall = false, Time = ops[i].IsOk ? ops[i].Completed ?? long.MaxValue : long.MaxValue };
            call.Match = ret;
            events.Add(call);
            events.Add(ret);
        }
        events.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : a.IsCall == b.IsCall ? a.Op.CompareTo(b.Op) : a.IsCall ? -1 : 1);
        var head = new Entry { Op = -1, IsCall = false, Time = long.MinValue };
        Entry previous = head;
        foreach (Entry e in events)
        {
            previous.Next = e;
            e.Prev = previous;
            previous = e;
        }

        // Zobrist hashes of the linearized set: two independent 64-bit keys per operation.
        var random = new Random(ops.Count);
        var zobrist = new (ulong A, ulong B)[ops.Count];
        for (int i = 0; i < ops.Count; i++)
            zobrist[i] = ((ulong)random.NextInt64() << 1 ^ (ulong)random.NextInt64(), (ulong)random.NextInt64() << 1 ^ (ulong)random.NextInt64());

        var seen = new HashSet<(ulong, ulong, long?)>();
        var stack = new Stack<(Entry Call, long? State)>();
        (ulong A, ulong B) linearized = (0, 0);
        long? state = initial;
        Entry? entry = head.Next;
        int deepest = 0;
        Entry? stuckAt = null;
        long steps = 0;
        while (entry is not null)
        {
            if (++steps > maxSteps)
                return $"inconclusive: search gave up after {maxSteps} steps at {stack.Count} of {ops.Count} operations";
            if (entry.IsCall)
            {
                var op = ops[entry.Op];
                if (Step(op, state) is (true, var next))
                {
                    var z = zobrist[entry.Op];
                    var candidate = (linearized.A ^ z.A, linearized.B ^ z.B);
                    if (seen.Add((candidate.Item1, candidate.Item2, next)))
                    {
                        stack.Push((entry, state));
                        state = next;
                        linearized = candidate;
                        Lift(entry);
                        entry = head.Next;
                        continue;
                    }
                }
                entry = entry.Next;
            }
            else
            {
                if (entry.Time == long.MaxValue)
                    return null; // only operations that may take effect at the end (or never) are left
                if (stack.Count >= deepest)
                {
                    deepest = stack.Count;
                    stuckAt = entry;
                }
                if (stack.Count == 0)
                    return Describe(ops, deepest, stuckAt!, initial);
                var (call, before) = stack.Pop();
                var z = zobrist[call.Op];
                linearized = (linearized.A ^ z.A, linearized.B ^ z.B);
                state = before;
                Unlift(call);
                entry = call.Next;
            }
        }
        return null;
    }

    private static (bool Ok, long? State) Step(Operation<RegisterCall, RegisterResult> op, long? state)
    {
        RegisterCall call = op.Call;
        switch (call.Kind)
        {
            case RegisterOpKind.Read:
                return (op.Result!.Value == state, state);
            case RegisterOpKind.Write:
                return (true, call.Value);
            default:
                bool matches = state == call.Expected;
                if (!op.IsOk)
                    return (true, matches ? call.Value : state);
                return op.Result!.Succeeded ? (matches, call.Value) : (!matches, state);
        }
    }

    private static void Lift(Entry call)
    {
        call.Prev!.Next = call.Next;
        call.Next!.Prev = call.Prev;
        Entry ret = call.Match!;
        ret.Prev!.Next = ret.Next;
        if (ret.Next is not null)
            ret.Next.Prev = ret.Prev;
    }

    private static void Unlift(Entry call)
    {
        Entry ret = call.Match!;
        if (ret.Next is not null)
            ret.Next.Prev = ret;
        ret.Prev!.Next = ret;
        call.Next!.Prev = call;
        call.Prev!.Next = call;
    }

    private static string Describe(List<Operation<RegisterCall, RegisterResult>> ops, int deepest, Entry stuckAt, long? initial)
    {
        var op = ops[stuckAt.Op];
        string what = op.Call.Kind == RegisterOpKind.Read && op.Result?.Value is { } v
            && !ops.Any(o => o.Call.Kind != RegisterOpKind.Read && o.Call.Value == v) && v != initial
                ? " (a value no write wrote)"
                : "";
        return $"not linearizable: no order of the {ops.Count} operations gets past op {op.Id} by process {op.Process}, " +
            $"{op.Call} -> {op.Result}{what}, invoked {op.Invoked}, completed {op.Completed}; at most {deepest} operations could be ordered";
    }
}
