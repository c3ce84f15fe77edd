using RaftSql.Transport;

namespace RaftSql.Tests.Transport;

public class FaultInjectorTests
{
    [Fact]
    public void Without_faults_everything_is_delivered_at_once()
    {
        var faults = new FaultInjector();

        Assert.Equal(new FaultDecision(true, TimeSpan.Zero), faults.Decide(1, 2));
    }

    [Fact]
    public void A_one_way_block_drops_only_that_direction()
    {
        var faults = new FaultInjector();
        faults.BlockOneWay(1, 2);

        Assert.False(faults.Decide(1, 2).Deliver);
        Assert.True(faults.Decide(2, 1).Deliver);
        Assert.True(faults.Decide(1, 3).Deliver);
    }

    [Fact]
    public void A_partition_cuts_both_directions_between_the_sides_and_heal_restores_them()
    {
        var faults = new FaultInjector();
        faults.Partition([1], [2, 3]);

        Assert.False(faults.Decide(1, 2).Deliver);
        Assert.False(faults.Decide(3, 1).Deliver);
        Assert.True(faults.Decide(2, 3).Deliver);

        faults.Heal();

        Assert.True(faults.Decide(1, 2).Deliver);
        Assert.True(faults.Decide(3, 1).Deliver);
    }

    [Fact]
    public void Loss_probability_drops_that_share_of_messages_reproducibly()
    {
        int Delivered(int seed)
        {
            var faults = new FaultInjector(seed);
            faults.SetDropProbability(0.3);
            return Enumerable.Range(0, 10_000).Count(_ => faults.Decide(1, 2).Deliver);
        }

        int delivered = Delivered(seed: 5);
        Assert.InRange(delivered, 6_500, 7_500);
        Assert.Equal(delivered, Delivered(seed: 5));
    }

    [Fact]
    public void Delays_stay_within_the_configured_range()
    {
        var faults = new FaultInjector(seed: 1);
        faults.SetDelay(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(20));

        for (int i = 0; i < 1_000; i++)
        {
            Assert.InRange(faults.Decide(1, 2).Delay, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(20));
        }
    }
}
