using RaftSql.Hosting;
using RaftSql.Raft;
using RaftSql.Storage;

namespace RaftSql.Simulation;

/// <summary>The seam costs nothing on the write path: one persisted batch is one fsync, counted on the simulated disk.</summary>
public class SimDiskCostTests
{
    [Fact]
    public void A_batch_of_entries_is_one_fsync_and_a_commit_index_change_alone_is_none()
    {
        var disk = new SimDisk(new Random(1), new DiskStats());
        const string directory = "/sim/cost/raft";
        using var store = new RaftLogStore(SegmentedLog.Open(disk, directory), new HardStateStore(directory, disk));
        store.Bootstrap([new Member(1, MemberRole.Voter, "sim:1")]);
        var entries = Enumerable.Range(2, 50).Select(i => new Entry(1, (ulong)i, EntryType.Normal, new byte[100])).ToList();

        var (files, directories) = (disk.FileSyncs, disk.DirectorySyncs);
        store.Persist(null, entries, new Raft.HardState(1, 0, 51));

        Assert.Equal(1, disk.FileSyncs - files);
        Assert.Equal(0, disk.DirectorySyncs - directories);
    }
}
