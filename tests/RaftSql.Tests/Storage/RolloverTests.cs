using RaftSql.Storage;
using static RaftSql.Tests.Storage.LogTestData;

namespace RaftSql.Tests.Storage;

public class RolloverTests
{
    private const int RecordBytes = 25 + 40;
    private static readonly SegmentedLogOptions FourPerSegment = new() { SegmentBytes = 4 * RecordBytes };

    [Fact]
    public void Segments_roll_over_at_the_configured_size_and_are_named_by_first_index()
    {
        using var dir = new TempDirectory();
        using var log = SegmentedLog.Open(dir.Path, FourPerSegment);
        foreach (LogRecord record in Records(1, 10, term: 1))
        {
            log.Append([record]);
        }

        log.Sync();

        Assert.Equal(
            ["00000000000000000001.log", "00000000000000000005.log", "00000000000000000009.log"],
            dir.SegmentFiles().Select(Path.GetFileName));
        Assert.All(dir.SegmentFiles(), f => Assert.True(new FileInfo(f).Length <= 4 * RecordBytes));
    }

    [Fact]
    public void One_batch_spanning_several_segments_reads_back_across_them_after_restart()
    {
        using var dir = new TempDirectory();
        LogRecord[] records = Records(1, 23, term: 4);
        using (var log = SegmentedLog.Open(dir.Path, FourPerSegment))
        {
            AppendAndSync(log, records);
            Assert.Equal(6, dir.SegmentFiles().Length);
            SegmentedLogTests.AssertLog(log, records);
        }

        using var reopened = SegmentedLog.Open(dir.Path, FourPerSegment);
        SegmentedLogTests.AssertLog(reopened, records);
        Assert.Equal([3ul, 4ul, 5ul, 6ul, 7ul, 8ul, 9ul], reopened.Read(3, 10, long.MaxValue).Select(r => r.Index));
        Assert.Equal(2, reopened.Read(4, 10, 2 * RecordBytes).Count);
    }

    [Fact]
    public void A_record_larger_than_a_segment_gets_a_segment_of_its_own()
    {
        using var dir = new TempDirectory();
        using var log = SegmentedLog.Open(dir.Path, FourPerSegment);
        LogRecord[] records = [Record(1, 1), Record(2, 1, payloadBytes: 1000), Record(3, 1)];
        AppendAndSync(log, records);

        Assert.Equal(3, dir.SegmentFiles().Length);
        SegmentedLogTests.AssertLog(log, records);
    }

    [Fact]
    public void Overwriting_a_suffix_that_spans_segments_removes_the_later_segments()
    {
        using var dir = new TempDirectory();
        LogRecord[] expected = [.. Records(1, 6, term: 1), .. Records(7, 9, term: 2)];
        using (var log = SegmentedLog.Open(dir.Path, FourPerSegment))
        {
            AppendAndSync(log, Records(1, 20, term: 1));
            AppendAndSync(log, Records(7, 9, term: 2));
            SegmentedLogTests.AssertLog(log, expected);
            Assert.Equal(
                ["00000000000000000001.log", "00000000000000000005.log", "00000000000000000009.log"],
                dir.SegmentFiles().Select(Path.GetFileName));
        }

        using var reopened = SegmentedLog.Open(dir.Path, FourPerSegment);
        SegmentedLogTests.AssertLog(reopened, expected);
    }

    [Fact]
    public void Overwriting_from_the_first_index_of_a_segment_reuses_it()
    {
        using var dir = new TempDirectory();
        LogRecord[] expected = [.. Records(1, 4, term: 1), .. Records(5, 5, term: 3)];
        using (var log = SegmentedLog.Open(dir.Path, FourPerSegment))
        {
            AppendAndSync(log, Records(1, 12, term: 1));
            AppendAndSync(log, Records(5, 5, term: 3));
            SegmentedLogTests.AssertLog(log, expected);
        }

        using var reopened = SegmentedLog.Open(dir.Path, FourPerSegment);
        SegmentedLogTests.AssertLog(reopened, expected);
    }
}
