using System.Diagnostics;
using RaftSql.Hosting;

namespace RaftSql.Tests.Hosting;

public sealed class LeaseClockTests
{
    private static readonly TimeSpan Heartbeat = TimeSpan.FromMilliseconds(100);

    private static long Ms(double ms) => (long)(ms / 1000 * Stopwatch.Frequency);

    [Fact]
    public void The_lease_runs_from_the_send_time_of_the_confirmed_round()
    {
        var clock = new LeaseClock(Heartbeat, electionTicks: 6, TimeProvider.System);
        Assert.Equal(TimeSpan.FromMilliseconds(350), clock.Duration); // 0.9 * 5 heartbeats, less one for drift
        clock.NoteSent(term: 3, round: 1, now: Ms(1_000));
        clock.NoteSent(term: 3, round: 3, now: Ms(1_100)); // rounds 2 and 3 went out together
        Assert.Equal(Ms(1_000) + Ms(350), clock.Expiry(3, leaseRound: 1));
        Assert.Equal(Ms(1_100) + Ms(350), clock.Expiry(3, leaseRound: 3));
        Assert.Equal(Ms(1_100) + Ms(350), clock.Expiry(3, leaseRound: 3)); // asked again: the same
    }

    [Fact]
    public void No_lease_without_a_noted_round_in_this_term_or_a_confirmed_round()
    {
        var clock = new LeaseClock(Heartbeat, electionTicks: 6, TimeProvider.System);
        Assert.Equal(0, clock.Expiry(3, leaseRound: 1)); // never sent
        clock.NoteSent(term: 3, round: 2, now: Ms(1_000));
        Assert.Equal(0, clock.Expiry(3, leaseRound: 0));
        Assert.Equal(0, clock.Expiry(4, leaseRound: 2)); // another term
        clock.NoteSent(term: 5, round: 1, now: Ms(2_000)); // a new term starts the rounds again
        Assert.Equal(Ms(2_000) + Ms(350), clock.Expiry(5, leaseRound: 1));
    }

    [Fact]
    public void Too_few_election_ticks_leave_no_time_for_a_lease()
    {
        var clock = new LeaseClock(Heartbeat, electionTicks: 2, TimeProvider.System);
        Assert.Equal(TimeSpan.Zero, clock.Duration);
        clock.NoteSent(term: 1, round: 1, now: Ms(1_000));
        Assert.Equal(0, clock.Expiry(1, leaseRound: 1));
    }

    [Fact]
    public void Rounds_sent_while_no_lease_is_held_are_not_kept_without_bound()
    {
        // A leader whose transfer did not finish, or whose leases are off, goes on sending rounds nothing confirms.
        var clock = new LeaseClock(Heartbeat, electionTicks: 6, TimeProvider.System);
        for (ulong round = 1; round <= 100_000; round++)
        {
            clock.NoteSent(term: 2, round, now: Ms(round));
            Assert.Equal(0, clock.Expiry(2, leaseRound: 0));
        }
        Assert.True(clock.RoundsKept <= LeaseClock.MaxRoundsKept, $"{clock.RoundsKept} rounds kept");
        // A recent round confirmed once leases are back still anchors one; a forgotten one gives none.
        Assert.Equal(Ms(100_000) + Ms(350), clock.Expiry(2, leaseRound: 100_000));
        var forgetful = new LeaseClock(Heartbeat, electionTicks: 6, TimeProvider.System);
        for (ulong round = 1; round <= LeaseClock.MaxRoundsKept + 10; round++)
            forgetful.NoteSent(term: 2, round, now: Ms(round));
        Assert.Equal(0, forgetful.Expiry(2, leaseRound: 1));
    }
}
