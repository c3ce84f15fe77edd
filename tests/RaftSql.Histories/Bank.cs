namespace RaftSql.Histories;

/// <summary>The kinds of bank operation.</summary>
public enum BankOpKind
{
    /// <summary>Read every account's balance in one snapshot.</summary>
    Read = 0,

    /// <summary>Move <see cref="BankCall.Amount"/> from one account to another (declined when the source lacks it).</summary>
    Transfer = 1,
}

/// <summary>A bank operation. Transfers carry an id unique in the history, which the workload stores with
/// the transfer (for example in a log table written in the same transaction).</summary>
public readonly record struct BankCall(BankOpKind Kind, long TransferId = 0, int From = 0, int To = 0, long Amount = 0)
{
    /// <summary>A read of all balances.</summary>
    public static BankCall Read() => new(BankOpKind.Read);

    /// <summary>A transfer.</summary>
    public static BankCall Transfer(long transferId, int from, int to, long amount) => new(BankOpKind.Transfer, transferId, from, to, amount);

    /// <inheritdoc />
    public override string ToString() => Kind == BankOpKind.Read ? "read" : $"transfer #{TransferId} {Amount} from {From} to {To}";
}

/// <summary>The answer to a <see cref="BankCall"/>: the balances a read saw, or whether a transfer was applied
/// (false: declined for lack of funds, nothing written).</summary>
public sealed record BankResult(IReadOnlyDictionary<int, long>? Balances = null, bool Applied = true)
{
    /// <inheritdoc />
    public override string ToString() => Balances is null
        ? Applied ? "applied" : "declined"
        : "{" + string.Join(", ", Balances.OrderBy(b => b.Key).Select(b => $"{b.Key}: {b.Value}")) + "}";
}

/// <summary>The bank's state once every fault has healed: the balances, and the ids of the transfers the
/// database holds as applied.</summary>
public sealed record BankFinalState(IReadOnlyDictionary<int, long> Balances, IReadOnlySet<long> AppliedTransferIds);

/// <summary>
/// Checks a bank history: every read sees all accounts, the constant total and (unless allowed) no negative
/// balance; and, given the final state, that every acknowledged transfer is applied, no failed or declined one
/// is, only attempted ones are, and the final balances are the initial ones moved by exactly the applied transfers.
/// </summary>
public static class BankChecker
{
    /// <summary>Checks <paramref name="operations"/> against <paramref name="initialBalances"/> and, when given, <paramref name="final"/>.</summary>
    public static CheckResult Check(IEnumerable<Operation<BankCall, BankResult>> operations, IReadOnlyDictionary<int, long> initialBalances,
        BankFinalState? final = null, bool allowNegative = false)
    {
        ArgumentNullException.ThrowIfNull(operations);
        ArgumentNullException.ThrowIfNull(initialBalances);
        var ops = operations.ToList();
        long total = initialBalances.Values.Sum();
        var anomalies = new List<string>();
        foreach (var read in ops.Where(o => o.IsOk && o.Call.Kind == BankOpKind.Read))
        {
            if (read.Result?.Balances is not { } seen)
            {
                anomalies.Add($"op {read.Id}: a read acknowledged without balances");
                continue;
            }
            if (StateProblem(seen, initialBalances, total, allowNegative) is { } problem)
                anomalies.Add($"op {read.Id} by process {read.Process}: read {read.Result} {problem}");
        }
        if (final is not null)
            CheckFinal(ops, initialBalances, final, total, allowNegative, anomalies);
        return new CheckResult(anomalies);
    }

    private static string? StateProblem(IReadOnlyDictionary<int, long> seen, IReadOnlyDictionary<int, long> initial, long total, bool allowNegative)
    {
        if (seen.Count != initial.Count || !initial.Keys.All(seen.ContainsKey))
            return $"has accounts [{string.Join(",", seen.Keys.Order())}], expected [{string.Join(",", initial.Keys.Order())}]";
        if (seen.Values.Sum() != total)
            return $"sums to {seen.Values.Sum()}, not {total}";
        if (!allowNegative && seen.Values.Any(v => v < 0))
            return "has a negative balance";
        return null;
    }

    private static void CheckFinal(List<Operation<BankCall, BankResult>> ops, IReadOnlyDictionary<int, long> initial, BankFinalState final,
        long total, bool allowNegative, List<string> anomalies)
    {
        if (StateProblem(final.Balances, initial, total, allowNegative) is { } problem)
            anomalies.Add($"final state {new BankResult(final.Balances)} {problem}");
        var transfers = ops.Where(o => o.Call.Kind == BankOpKind.Transfer).ToDictionary(o => o.Call.TransferId);
        foreach (var t in transfers.Values)
        {
            bool applied = final.AppliedTransferIds.Contains(t.Call.TransferId);
            if (t.IsOk && t.Result is { Applied: true } && !applied)
                anomalies.Add($"op {t.Id}: acknowledged {t.Call} is lost");
            else if (t.IsOk && t.Result is { Applied: false } && applied)
                anomalies.Add($"op {t.Id}: {t.Call} was declined but is applied");
            else if (t.Outcome == Outcome.Failed && applied)
                anomalies.Add($"op {t.Id}: {t.Call} failed but is applied");
        }
        var expected = initial.ToDictionary(b => b.Key, b => b.Value);
        foreach (long id in final.AppliedTransferIds)
        {
            if (!transfers.TryGetValue(id, out var t))
            {
                anomalies.Add($"transfer #{id} is applied but was never attempted");
                continue;
            }
            expected[t.Call.From] = expected.GetValueOrDefault(t.Call.From) - t.Call.Amount;
            expected[t.Call.To] = expected.GetValueOrDefault(t.Call.To) + t.Call.Amount;
        }
        if (expected.Count != final.Balances.Count || expected.Any(e => final.Balances.GetValueOrDefault(e.Key) != e.Value))
            anomalies.Add($"final balances {new BankResult(final.Balances)} differ from the initial ones moved by the applied transfers, {new BankResult(expected)}");
    }
}
