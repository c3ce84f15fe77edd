using RaftSql.Storage;
using static RaftSql.Tests.Storage.LogTestData;

namespace RaftSql.Tests.Storage;

public class CompactionTests
{
    private const int RecordBytes = 25 + 40;
    private static readonly SegmentedLogOptions FourPerSegment = new() { SegmentBytes = 4 * RecordBytes };
    private static readonly byte[] Membership = [1, 2, 3, 42];

    [Fact]
    public void Compaction_deletes_whole_segments_below_the_index_and_survives_restart()
    {
        using var dir = new TempDirectory();
        LogRecord[] records = [.. Records(1, 10, term: 1), .. Records(11, 20, term: 2)];
        using (var log = SegmentedLog.Open(dir.Path, FourPerSegment))
        {
            AppendAndSync(log, records);
            log.CompactBefore(11, Membership);

            AssertCompacted(log, records);
            Assert.Equal(
                ["00000000000000000009.log", "00000000000000000013.log", "00000000000000000017.log"],
                dir.SegmentFiles().Select(Path.GetFileName));
        }

        using var reopened = SegmentedLog.Open(dir.Path, FourPerSegment);
        AssertCompacted(reopened, records);
        AppendAndSync(reopened, Records(21, 22, term: 2));
        Assert.Equal(22ul, reopened.LastIndex);
    }

    [Fact]
    public void Compaction_never_deletes_the_active_segment_and_may_empty_the_log()
    {
        using var dir = new TempDirectory();
        using (var log = SegmentedLog.Open(dir.Path, FourPerSegment))
        {
            AppendAndSync(log, Records(1, 6, term: 3));
            log.CompactBefore(7, Membership);

            Assert.Equal(7ul, log.FirstIndex);
            Assert.Equal(6ul, log.LastIndex);
            Assert.Equal(3ul, log.Term(6));
            Assert.Equal(["00000000000000000005.log"], dir.SegmentFiles().Select(Path.GetFileName));
            AppendAndSync(log, Records(7, 8, term: 3));
        }

        using var reopened = SegmentedLog.Open(dir.Path, FourPerSegment);
        Assert.Equal(7ul, reopened.FirstIndex);
        SegmentedLogTests.AssertLog(reopened, Records(7, 8, term: 3));
    }

    [Fact]
    public void Compacting_to_an_older_point_does_nothing_and_beyond_the_log_is_rejected()
    {
        using var dir = new TempDirectory();
        using var log = SegmentedLog.Open(dir.Path, FourPerSegment);
        AppendAndSync(log, Records(1, 10, term: 1));
        log.CompactBefore(6, Membership);
        log.CompactBefore(3, new byte[] { 9 });

        Assert.Equal(6ul, log.FirstIndex);
        Assert.Equal(Membership, log.CompactionPoint.Membership.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => log.CompactBefore(12, Membership));
        Assert.Throws<ArgumentException>(() => log.Append([Record(5, 1)]));
    }

    [Fact]
    public void ResetTo_empties_the_log_after_the_snapshot_and_survives_restart()
    {
        using var dir = new TempDirectory();
        using (var log = SegmentedLog.Open(dir.Path, FourPerSegment))
        {
            AppendAndSync(log, Records(1, 10, term: 1));
            log.ResetTo(100, 7, Membership);

            Assert.Empty(dir.SegmentFiles());
            Assert.Equal(101ul, log.FirstIndex);
            Assert.Equal(100ul, log.LastIndex);
            Assert.Equal(7ul, log.Term(100));
            AppendAndSync(log, Records(101, 103, term: 7));
            Assert.Equal(["00000000000000000101.log"], dir.SegmentFiles().Select(Path.GetFileName));
        }

        using var reopened = SegmentedLog.Open(dir.Path, FourPerSegment);
        Assert.Equal(100ul, reopened.CompactionPoint.Index);
        Assert.Equal(Membership, reopened.CompactionPoint.Membership.ToArray());
        Assert.Equal(7ul, reopened.Term(100));
        SegmentedLogTests.AssertLog(reopened, Records(101, 103, term: 7));
    }

    [Fact]
    public void ResetTo_inside_the_current_log_also_drops_its_suffix()
    {
        using var dir = new TempDirectory();
        using var log = SegmentedLog.Open(dir.Path, FourPerSegment);
        AppendAndSync(log, Records(1, 10, term: 1));
        log.ResetTo(5, 1, Membership);

        Assert.Equal(5ul, log.LastIndex);
        Assert.Equal(6ul, log.FirstIndex);
        Assert.Empty(ReadAll(log));
    }

    // A crash after the compaction point was written but before the old segments were deleted.
    [Fact]
    public void Reopening_after_an_interrupted_reset_drops_entries_that_disagree_with_the_snapshot()
    {
        using var dir = new TempDirectory();
        WriteLogThenPoint(dir, new CompactionPoint(6, 5, Membership));

        var logger = new CapturingLogger();
        using var log = SegmentedLog.Open(dir.Path, FourPerSegment, logger);

        Assert.True(logger.Logged("RaftLogStaleEntriesDiscarded"));
        Assert.Equal(7ul, log.FirstIndex);
        Assert.Equal(6ul, log.LastIndex);
        Assert.Equal(5ul, log.Term(6));
    }

    [Fact]
    public void Reopening_after_an_interrupted_compaction_keeps_entries_that_agree_with_the_point()
    {
        using var dir = new TempDirectory();
        WriteLogThenPoint(dir, new CompactionPoint(6, 1, Membership));

        using var log = SegmentedLog.Open(dir.Path, FourPerSegment);

        SegmentedLogTests.AssertLog(log, Records(7, 10, term: 1));
        Assert.Equal(["00000000000000000005.log", "00000000000000000009.log"], dir.SegmentFiles().Select(Path.GetFileName));
    }

    [Fact]
    public void A_gap_between_the_compaction_point_and_the_log_is_corruption()
    {
        using var dir = new TempDirectory();
        using (var log = SegmentedLog.Open(dir.Path, FourPerSegment))
        {
            AppendAndSync(log, Records(1, 12, term: 1));
            log.CompactBefore(6, Membership);
        }

        File.Delete(dir.SegmentFiles()[0]);
        var error = Assert.Throws<RaftSqlException>(() => SegmentedLog.Open(dir.Path, FourPerSegment));
        Assert.Equal(RaftSqlErrorCode.CorruptLog, error.Code);
    }

    [Fact]
    public void A_damaged_compaction_point_file_is_corruption()
    {
        using var dir = new TempDirectory();
        using (var log = SegmentedLog.Open(dir.Path, FourPerSegment))
        {
            AppendAndSync(log, Records(1, 12, term: 1));
            log.CompactBefore(6, Membership);
        }

        string pointFile = dir.File(CompactionPointFile.FileName);
        byte[] bytes = File.ReadAllBytes(pointFile);
        bytes[10] ^= 0x10;
        File.WriteAllBytes(pointFile, bytes);

        var error = Assert.Throws<RaftSqlException>(() => SegmentedLog.Open(dir.Path, FourPerSegment));
        Assert.Equal(RaftSqlErrorCode.CorruptLog, error.Code);
    }

    private static void WriteLogThenPoint(TempDirectory dir, CompactionPoint point)
    {
        using (var log = SegmentedLog.Open(dir.Path, FourPerSegment))
        {
            AppendAndSync(log, Records(1, 10, term: 1));
        }

        CompactionPointFile.Save(DiskFiles.Instance, dir.File(CompactionPointFile.FileName), point);
    }

    private static void AssertCompacted(SegmentedLog log, LogRecord[] records)
    {
        Assert.Equal(11ul, log.FirstIndex);
        Assert.Equal(10ul, log.CompactionPoint.Index);
        Assert.Equal(1ul, log.CompactionPoint.Term);
        Assert.Equal(Membership, log.CompactionPoint.Membership.ToArray());
        Assert.Equal(1ul, log.Term(10));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.Term(9));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.Read(10, 12, long.MaxValue));
        SegmentedLogTests.AssertLog(log, records[10..]);
    }
}
