using RaftSql.Histories;

namespace RaftSql.Histories.Tests;

public class BankCheckerTests
{
    private static readonly Dictionary<int, long> Initial = new() { [1] = 100, [2] = 100 };

    private static BankResult Balances(long a, long b) => new(new Dictionary<int, long> { [1] = a, [2] = b });

    private static BankFinalState Final(long a, long b, params long[] applied) =>
        new(new Dictionary<int, long> { [1] = a, [2] = b }, applied.ToHashSet());

    private static Ops<BankCall, BankResult> H() => new();

    [Fact]
    public void Consistent_reads_and_final_state_pass()
    {
        var h = H().Ok(1, BankCall.Transfer(1, 1, 2, 10), 0, 10, new BankResult())
            .Ok(2, BankCall.Read(), 5, 15, Balances(90, 110))
            .Unknown(1, BankCall.Transfer(2, 2, 1, 5), 20)
            .Unknown(1, BankCall.Transfer(3, 2, 1, 7), 30)
            .Ok(1, BankCall.Transfer(4, 1, 2, 500), 40, 50, new BankResult(Applied: false))
            .Failed(1, BankCall.Transfer(5, 1, 2, 1), 60, 70);
        Assert.True(BankChecker.Check(h.All, Initial, Final(95, 105, 1, 2)).Ok);
    }

    [Fact]
    public void A_read_with_the_wrong_total_or_a_negative_balance_is_an_anomaly()
    {
        var h = H().Ok(2, BankCall.Read(), 0, 10, Balances(90, 100)).Ok(2, BankCall.Read(), 20, 30, Balances(-10, 210));
        var result = BankChecker.Check(h.All, Initial);
        Assert.Equal(2, result.Anomalies.Count);
        Assert.Contains("sums to 190, not 200", result.Anomalies[0], StringComparison.Ordinal);
        Assert.Contains("negative", result.Anomalies[1], StringComparison.Ordinal);
        Assert.True(BankChecker.Check(h.All.Skip(1), Initial, allowNegative: true).Ok);
    }

    [Fact]
    public void A_lost_acknowledged_transfer_is_an_anomaly()
    {
        var h = H().Ok(1, BankCall.Transfer(1, 1, 2, 10), 0, 10, new BankResult());
        var result = BankChecker.Check(h.All, Initial, Final(100, 100));
        Assert.Contains(result.Anomalies, a => a.Contains("is lost", StringComparison.Ordinal));
    }

    [Fact]
    public void A_failed_or_declined_transfer_that_is_applied_is_an_anomaly()
    {
        var failed = H().Failed(1, BankCall.Transfer(1, 1, 2, 10), 0, 10);
        var declined = H().Ok(1, BankCall.Transfer(1, 1, 2, 10), 0, 10, new BankResult(Applied: false));
        Assert.Contains(BankChecker.Check(failed.All, Initial, Final(90, 110, 1)).Anomalies, a => a.Contains("failed but is applied", StringComparison.Ordinal));
        Assert.Contains(BankChecker.Check(declined.All, Initial, Final(90, 110, 1)).Anomalies, a => a.Contains("declined but is applied", StringComparison.Ordinal));
    }

    [Fact]
    public void Final_balances_must_match_the_applied_transfers()
    {
        var h = H().Ok(1, BankCall.Transfer(1, 1, 2, 10), 0, 10, new BankResult());
        var result = BankChecker.Check(h.All, Initial, Final(80, 120, 1));
        Assert.Single(result.Anomalies);
        Assert.Contains("differ from", result.Anomalies[0], StringComparison.Ordinal);
        Assert.False(BankChecker.Check(h.All, Initial, Final(90, 110, 1, 99)).Ok); // never attempted
    }
}
