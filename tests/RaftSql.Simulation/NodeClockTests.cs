namespace RaftSql.Simulation;

public class NodeClockTests
{
    [Fact]
    public void A_delay_on_the_node_clock_completes_when_virtual_time_passes() => SimThread.Run(() =>
    {
        var scheduler = new SimScheduler();
        var clock = new NodeClock(scheduler, 0, () => 0);
        var delay = Task.Delay(TimeSpan.FromMilliseconds(25), clock, CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(40), clock);
        scheduler.RunUntil(30_000);
        Assert.True(delay.IsCompletedSuccessfully);
        Assert.False(timeout.IsCancellationRequested);
        scheduler.RunUntil(50_000);
        Assert.True(timeout.IsCancellationRequested);
        return true;
    });

    [Fact]
    public void Work_posted_from_another_thread_is_refused_and_stops_the_run() => SimThread.Run(() =>
    {
        var scheduler = new SimScheduler();
        var posted = Task.Run(() => scheduler.Post(() => { }));
        Assert.Throws<InvalidOperationException>(() => posted.GetAwaiter().GetResult());
        Assert.Throws<InvalidOperationException>(() => scheduler.RunUntil(1));
        return true;
    });
}
