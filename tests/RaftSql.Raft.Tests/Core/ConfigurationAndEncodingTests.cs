using RaftSql.Raft.Tests.Support;

namespace RaftSql.Raft.Tests.Core;

public class ConfigurationAndEncodingTests
{
    private static readonly RaftConfig Valid = new() { Id = 1, Random = new SeededRandomSource(1) };

    public static TheoryData<RaftConfig> InvalidConfigs => new()
    {
        Valid with { Id = 0 },
        Valid with { ElectionTicks = 1 },
        Valid with { HeartbeatTicks = 0 },
        Valid with { LeaseDriftTicks = 10 },
        Valid with { LeaseDriftTicks = -1 },
        Valid with { MaxInflightMessages = 0 },
        Valid with { MaxBytesPerMessage = 0 },
        Valid with { MaxUncommittedBytes = -1 },
    };

    [Theory]
    [MemberData(nameof(InvalidConfigs))]
    public void Nonsense_configuration_is_rejected(RaftConfig config) =>
        Assert.Throws<ArgumentException>(() => new RaftNode(config, new MemoryStorage()));

    [Fact]
    public void An_applied_index_outside_the_committed_log_is_rejected()
    {
        var storage = MemoryStorage.Bootstrap([new Member(1, MemberRole.Voter, "a")]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RaftNode(Valid, storage, appliedIndex: 5));
    }

    [Theory]
    [InlineData(ConfChangeType.AddOrUpdate, MemberRole.Voter, "10.0.0.1:7000")]
    [InlineData(ConfChangeType.AddOrUpdate, MemberRole.Standby, "")]
    [InlineData(ConfChangeType.AddOrUpdate, MemberRole.Spare, "nœud-ü")]
    public void Conf_changes_round_trip(ConfChangeType type, MemberRole role, string address)
    {
        var change = new ConfChange(type, new Member(77, role, address));
        Assert.Equal(change, ConfChange.Decode(change.Encode()));
        var removal = ConfChange.Remove(5);
        Assert.Equal(removal, ConfChange.Decode(removal.Encode()));
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]        // unknown type
    [InlineData(new byte[] { 1, 1, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0 })]        // unknown role
    [InlineData(new byte[] { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]        // id 0
    [InlineData(new byte[] { 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 65 })]    // length beyond the data
    public void Malformed_conf_changes_are_rejected(byte[] data) =>
        Assert.Throws<ArgumentException>(() => ConfChange.Decode(data));

    [Fact]
    public void Membership_rejects_duplicates_and_computes_the_quorum()
    {
        Assert.Throws<ArgumentException>(() => new Membership([new Member(1, MemberRole.Voter, ""), new Member(1, MemberRole.Standby, "")]));
        var m = new Membership([
            new Member(3, MemberRole.Voter, ""), new Member(1, MemberRole.Voter, ""), new Member(2, MemberRole.Voter, ""),
            new Member(4, MemberRole.Voter, ""), new Member(5, MemberRole.Standby, ""), new Member(6, MemberRole.Spare, "")]);
        Assert.Equal([1UL, 2UL, 3UL, 4UL], m.Voters);
        Assert.Equal(3, m.QuorumSize);
        Assert.Equal([1UL, 2UL, 3UL, 4UL, 5UL], m.ReplicationTargets);
    }

    [Fact]
    public void The_seeded_random_source_replays_and_stays_in_range()
    {
        var a = new SeededRandomSource(42);
        var b = new SeededRandomSource(42);
        var values = Enumerable.Range(0, 1000).Select(_ => a.Next(10)).ToList();
        Assert.Equal(values, Enumerable.Range(0, 1000).Select(_ => b.Next(10)));
        Assert.All(values, v => Assert.InRange(v, 0, 9));
        Assert.Equal(10, values.Distinct().Count());
    }

    [Fact]
    public void GetReady_twice_without_Advance_is_a_host_error()
    {
        var c = new TestCluster(1);
        c.TickUntilLeader();
        c[1].Propose(new byte[] { 1 });
        var ready = c[1].GetReady();
        Assert.Throws<InvalidOperationException>(() => c[1].GetReady());
        c[1].Advance(ready);
    }
}
