namespace RaftSql.Raft.Tests.Core;

public class MemoryStorageTests
{
    private static Entry E(ulong term, ulong index, int size = 0) => new(term, index, EntryType.Normal, new byte[size]);

    [Fact]
    public void Append_truncates_a_conflicting_suffix()
    {
        var s = new MemoryStorage();
        s.Append([E(1, 1), E(1, 2), E(1, 3)]);
        s.Append([E(2, 2)]);
        Assert.Equal(2UL, s.LastIndex);
        Assert.Equal(2UL, s.Term(2));
        Assert.Throws<ArgumentException>(() => s.Append([E(2, 5)]));
    }

    [Fact]
    public void Compaction_keeps_the_term_of_the_snapshot_index_and_reports_compacted_indexes()
    {
        var s = new MemoryStorage();
        s.Append([E(1, 1), E(2, 2), E(2, 3)]);
        var members = new Membership([new Member(1, MemberRole.Voter, "a")]);
        s.Compact(2, members);
        Assert.Equal(3UL, s.FirstIndex);
        Assert.Equal(2UL, s.Term(2));
        Assert.Equal(LogUnavailableReason.Compacted, Assert.Throws<RaftLogUnavailableException>(() => s.Term(1)).Reason);
        Assert.Equal(LogUnavailableReason.Unavailable, Assert.Throws<RaftLogUnavailableException>(() => s.Term(4)).Reason);
        Assert.Throws<RaftLogUnavailableException>(() => s.Entries(2, 4, long.MaxValue));
        Assert.Same(members, s.InitialState().Membership);
    }

    [Fact]
    public void Entries_respects_the_byte_limit_but_returns_at_least_one()
    {
        var s = new MemoryStorage();
        s.Append([E(1, 1, 100), E(1, 2, 100), E(1, 3, 100)]);
        Assert.Single(s.Entries(1, 4, 1));
        Assert.Equal(2, s.Entries(1, 4, 250).Count);
        Assert.Equal(3, s.Entries(1, 4, long.MaxValue).Count);
    }

    [Fact]
    public void A_received_snapshot_replaces_the_log()
    {
        var s = new MemoryStorage();
        s.Append([E(1, 1), E(1, 2)]);
        s.ApplySnapshot(new SnapshotMetadata(10, 3, Membership.Empty));
        Assert.Equal((11UL, 10UL), (s.FirstIndex, s.LastIndex));
        Assert.Equal(3UL, s.Term(10));
        Assert.Throws<ArgumentException>(() => s.ApplySnapshot(new SnapshotMetadata(5, 3, Membership.Empty)));
    }
}
