using RaftSql.Raft.Tests.Support;

namespace RaftSql.Raft.Tests.Paper;

/// <summary>Raft paper section 5.3: log replication, consistency check and conflict repair.</summary>
public class Section5_3_LogReplicationTests
{
    [Fact]
    public void An_entry_commits_once_a_majority_stored_it()
    {
        var c = new TestCluster(3);
        c.ElectLeader(1);
        c.Drop = m => m.To == 3;
        var result = c.Propose(1, "x");
        Assert.Equal(result.Index, c[1].Status.Commit);
        Assert.Equal(result.Index, c[2].Status.LastIndex);
        Assert.True(c[3].Status.LastIndex < result.Index);
    }

    [Fact]
    public void Without_a_majority_nothing_commits()
    {
        var c = new TestCluster(3);
        c.ElectLeader(1);
        c.Drop = m => m.From == 1 && m.Type == MessageType.Append;
        var before = c[1].Status.Commit;
        var result = c.Propose(1, "x");
        Assert.True(result.Accepted);
        Assert.Equal(before, c[1].Status.Commit);
    }

    [Fact]
    public void The_leader_counts_its_own_entry_only_after_the_host_persisted_it()
    {
        var c = new TestCluster(1);
        c.TickUntilLeader();
        var result = c[1].Propose(new byte[] { 1 });
        Assert.True(c[1].Status.Commit < result.Index);
        var ready = c[1].GetReady();
        Assert.Equal(result.Index, Assert.Single(ready.Entries).Index);
        Assert.DoesNotContain(ready.CommittedEntries, e => e.Index == result.Index);
        c.Hosts[1].Storage.Append(ready.Entries);
        c[1].Advance(ready);
        Assert.Equal(result.Index, c[1].Status.Commit);
    }

    public static TheoryData<ulong[], ulong[]> DivergentLogs => new()
    {
        // leader's extra terms, follower's extra terms (after the bootstrap entries), cf. figure 7
        { [2, 2, 3, 3], [] },
        { [2, 2, 3, 3], [2] },
        { [2, 2, 3], [2, 2, 2, 2, 2, 2] },
        { [2, 4, 4], [2, 3, 3, 3, 3] },
        { [5, 5, 6, 6, 6], [5, 5, 5, 5, 5, 5, 5] },
    };

    [Theory]
    [MemberData(nameof(DivergentLogs))]
    public void A_follower_log_is_repaired_to_match_the_leader(ulong[] leaderTerms, ulong[] followerTerms)
    {
        var c = new TestCluster(3, id => id == 3 ? followerTerms : leaderTerms);
        c.ElectLeader(1);
        c.Propose(1, "x");
        var leaderLog = c.Hosts[1].Storage.Entries(1, c.Hosts[1].Storage.LastIndex + 1, long.MaxValue);
        var followerLog = c.Hosts[3].Storage.Entries(1, c.Hosts[3].Storage.LastIndex + 1, long.MaxValue);
        Assert.Equal(leaderLog.Select(e => (e.Index, e.Term)), followerLog.Select(e => (e.Index, e.Term)));
    }

    [Fact]
    public void Rejections_carry_hints_so_a_long_conflicting_term_is_skipped_in_one_round_trip()
    {
        var follower = Enumerable.Repeat(2UL, 60).ToArray();
        var leader = new ulong[] { 2 }.Concat(Enumerable.Repeat(3UL, 60)).ToArray();
        var c = new TestCluster(3, id => id == 3 ? follower : leader);
        c.ElectLeader(1);
        var rejections = c.Delivered.Count(m => m.From == 3 && m.Type == MessageType.AppendResponse && m.Reject);
        Assert.InRange(rejections, 1, 2);
        Assert.Equal(c[1].Status.LastIndex, c[3].Status.LastIndex);
    }

    [Fact]
    public void A_follower_rejects_an_append_whose_previous_entry_it_lacks_and_hints_its_last_index()
    {
        var n = new NodeHarness(2, voters: 3, term: 2, extraTerms: [2]);
        var answer = Assert.Single(n.Step(new Message { Type = MessageType.Append, From = 1, To = 2, Term = 2, Index = 9, LogTerm = 2 }));
        Assert.True(answer.Reject);
        Assert.Equal(9UL, answer.Index);
        Assert.Equal(4UL, answer.RejectHint);
        Assert.Equal(2UL, answer.LogTerm);
    }
}
