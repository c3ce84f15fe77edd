using RaftSql.Histories;

namespace RaftSql.Histories.Tests;

public class SessionCheckerTests
{
    private static Ops<RegisterCall, RegisterResult> H() => new();

    private static RegisterResult Wrote(long version) => new(Version: version);

    private static RegisterResult Saw(long? value, long version) => new(value, Version: version);

    [Fact]
    public void Reads_that_see_own_writes_and_move_forward_pass()
    {
        var h = H().Ok(1, RegisterCall.Write(0, 10), 0, 10, Wrote(1))
            .Ok(1, RegisterCall.Read(0), 20, 30, Saw(10, 1))
            .Ok(2, RegisterCall.Write(0, 20), 25, 35, Wrote(2))
            .Ok(1, RegisterCall.Read(0), 40, 50, Saw(20, 2))
            .Ok(2, RegisterCall.Read(0), 40, 50, Saw(20, 2));
        Assert.True(SessionChecker.Check(h.All).Ok);
    }

    [Fact]
    public void A_read_that_misses_the_session_s_own_write_is_an_anomaly()
    {
        var h = H().Ok(2, RegisterCall.Write(0, 5), 0, 5, Wrote(1))
            .Ok(1, RegisterCall.Write(0, 10), 10, 20, Wrote(2))
            .Ok(1, RegisterCall.Read(0), 30, 40, Saw(5, 1));
        var result = SessionChecker.Check(h.All);
        Assert.Single(result.Anomalies);
        Assert.Contains("own acknowledged write", result.Anomalies[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_read_that_goes_back_is_an_anomaly()
    {
        var h = H().Ok(2, RegisterCall.Write(0, 5), 0, 5, Wrote(1))
            .Ok(2, RegisterCall.Write(0, 6), 6, 9, Wrote(2))
            .Ok(1, RegisterCall.Read(0), 10, 20, Saw(6, 2))
            .Ok(1, RegisterCall.Read(0), 30, 40, Saw(5, 1));
        var result = SessionChecker.Check(h.All);
        Assert.Single(result.Anomalies);
        Assert.Contains("goes back", result.Anomalies[0], StringComparison.Ordinal);
    }

    [Fact]
    public void One_version_with_two_values_is_an_anomaly()
    {
        var h = H().Ok(2, RegisterCall.Write(0, 5), 0, 5, Wrote(1)).Ok(1, RegisterCall.Read(0), 10, 20, Saw(6, 1));
        var result = SessionChecker.Check(h.All);
        Assert.Single(result.Anomalies);
        Assert.Contains("version 1 holds 5", result.Anomalies[0], StringComparison.Ordinal);
    }
}
