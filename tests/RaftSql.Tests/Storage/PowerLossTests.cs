using RaftSql.Storage;
using static RaftSql.Tests.Storage.LogTestData;

namespace RaftSql.Tests.Storage;

/// <summary>
/// A power loss may write a log's unsynced pages in any order, or not at all. Recovery cuts damage that lies
/// beyond what the log had synced; damage to synced records is corruption, whatever follows it.
/// </summary>
public class PowerLossTests
{
    private const int RecordBytes = 25 + 40;
    private const int Synced = 100;
    private const int Unsynced = 200;
    private const int PageBytes = 4096;
    private const string TornTailEvent = "RaftLogTornTailTruncated";

    [Fact]
    public void A_zeroed_page_in_the_unsynced_tail_cuts_the_log_there_though_intact_records_follow()
    {
        using var dir = new TempDirectory();
        string segment = WriteSyncedThenUnsynced(dir);
        Overwrite(segment, 2 * PageBytes, new byte[PageBytes]);
        long firstDamaged = 2 * PageBytes / RecordBytes; // the record straddling the page's start, 0-based
        Assert.True((3 * PageBytes / RecordBytes) + 2 < Synced + Unsynced, "intact records must follow the page");

        var logger = new CapturingLogger();
        using (var log = SegmentedLog.Open(dir.Path, logger: logger))
        {
            Assert.Equal((ulong)firstDamaged, log.LastIndex);
            Assert.True(logger.Logged(TornTailEvent));
            SegmentedLogTests.AssertLog(log, Records(1, (ulong)firstDamaged, term: 1));
            AppendAndSync(log, Records((ulong)firstDamaged + 1, 400, term: 2));
        }

        var again = new CapturingLogger();
        using var reopened = SegmentedLog.Open(dir.Path, logger: again);
        Assert.False(again.Logged(TornTailEvent));
        Assert.Equal(400ul, reopened.LastIndex);
    }

    [Fact]
    public void A_flipped_bit_in_an_unsynced_record_cuts_from_that_record()
    {
        using var dir = new TempDirectory();
        string segment = WriteSyncedThenUnsynced(dir);
        FlipBit(segment, (149 * RecordBytes) + 30);

        using var log = SegmentedLog.Open(dir.Path);

        Assert.Equal(149ul, log.LastIndex);
        Assert.Equal(149, ReadAll(log).Count);
    }

    [Fact]
    public void Damage_to_the_last_synced_record_is_corruption_even_when_nothing_valid_follows()
    {
        using var dir = new TempDirectory();
        string segment = WriteSyncedThenUnsynced(dir);
        long damaged = (Synced - 1) * RecordBytes;
        long length = new FileInfo(segment).Length;
        Overwrite(segment, damaged + 30, new byte[length - damaged - 30]);

        var error = Assert.Throws<RaftSqlException>(() => SegmentedLog.Open(dir.Path));

        Assert.Equal(RaftSqlErrorCode.CorruptLog, error.Code);
        Assert.Contains(Path.GetFileName(segment), error.Message, StringComparison.Ordinal);
        Assert.Contains($"offset {damaged}", error.Message, StringComparison.Ordinal);
        Assert.Equal(length, new FileInfo(segment).Length);
    }

    [Fact]
    public void A_flipped_bit_in_a_synced_record_is_corruption()
    {
        using var dir = new TempDirectory();
        string segment = WriteSyncedThenUnsynced(dir);
        FlipBit(segment, (49 * RecordBytes) + 3);

        var error = Assert.Throws<RaftSqlException>(() => SegmentedLog.Open(dir.Path));

        Assert.Equal(RaftSqlErrorCode.CorruptLog, error.Code);
        Assert.Contains($"offset {49 * RecordBytes}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_segment_cut_short_of_its_synced_length_is_corruption()
    {
        using var dir = new TempDirectory();
        string segment = WriteSyncedThenUnsynced(dir);
        Truncate(segment, 50 * RecordBytes);

        var error = Assert.Throws<RaftSqlException>(() => SegmentedLog.Open(dir.Path));

        Assert.Equal(RaftSqlErrorCode.CorruptLog, error.Code);
        Assert.Contains(Path.GetFileName(segment), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_segment_cut_within_its_unsynced_tail_keeps_the_whole_records()
    {
        using var dir = new TempDirectory();
        string segment = WriteSyncedThenUnsynced(dir);
        Truncate(segment, (150 * RecordBytes) + 7);

        using var log = SegmentedLog.Open(dir.Path);

        Assert.Equal(150ul, log.LastIndex);
    }

    [Fact]
    public void A_missing_last_segment_whose_records_were_synced_is_corruption()
    {
        using var dir = new TempDirectory();
        var options = new SegmentedLogOptions { SegmentBytes = 4 * RecordBytes };
        using (var log = SegmentedLog.Open(dir.Path, options))
        {
            AppendAndSync(log, Records(1, 12, term: 1));
        }

        File.Delete(dir.SegmentFiles()[^1]);

        var error = Assert.Throws<RaftSqlException>(() => SegmentedLog.Open(dir.Path, options));
        Assert.Equal(RaftSqlErrorCode.CorruptLog, error.Code);
    }

    [Fact]
    public void A_missing_last_segment_that_was_never_synced_is_a_torn_tail()
    {
        using var dir = new TempDirectory();
        var options = new SegmentedLogOptions { SegmentBytes = 4 * RecordBytes };
        using (var log = SegmentedLog.Open(dir.Path, options))
        {
            AppendAndSync(log, Records(1, 8, term: 1));
            log.Append(Records(9, 12, term: 1));
        }

        File.Delete(dir.SegmentFiles()[^1]);

        using var reopened = SegmentedLog.Open(dir.Path, options);
        Assert.Equal(8ul, reopened.LastIndex);
    }

    [Fact]
    public void A_cut_across_segments_makes_the_deletions_durable_before_the_kept_segment_is_cut()
    {
        using var dir = new TempDirectory();
        var options = new SegmentedLogOptions { SegmentBytes = 20 * RecordBytes };
        using (var log = SegmentedLog.Open(dir.Path, options))
        {
            AppendAndSync(log, Records(1, 100, term: 1));
            var steps = new List<string>();
            log.DurabilityStep = steps.Add;
            AppendAndSync(log, Records(30, 40, term: 2)); // cuts the segment holding 30, deletes the later ones
            // The other order has a window where a power loss leaves the kept segment cut and a deleted one back.
            Assert.Equal(["directory", "segment"], steps);
        }

        using var reopened = SegmentedLog.Open(dir.Path, options);
        SegmentedLogTests.AssertLog(reopened, [.. Records(1, 29, term: 1), .. Records(30, 40, term: 2)]);
    }

    [Fact]
    public void Records_rewritten_after_a_conflict_count_as_unsynced_even_below_the_old_synced_length()
    {
        using var dir = new TempDirectory();
        string segment;
        using (var log = SegmentedLog.Open(dir.Path))
        {
            AppendAndSync(log, Records(1, Synced, term: 1));
            log.Append(Records(51, 60, term: 2)); // replaces 51.. (a Raft conflict), never synced
            segment = dir.SegmentFiles().Single();
        }

        FlipBit(segment, (54 * RecordBytes) + 30);

        using var reopened = SegmentedLog.Open(dir.Path);
        Assert.Equal(54ul, reopened.LastIndex);
        Assert.Equal(2ul, reopened.Term(54));
        Assert.Equal(1ul, reopened.Term(50));
    }

    [Fact]
    public void Records_written_after_a_reset_count_as_unsynced_even_in_a_segment_of_the_same_name()
    {
        using var dir = new TempDirectory();
        string segment;
        using (var log = SegmentedLog.Open(dir.Path))
        {
            AppendAndSync(log, Records(1, Synced, term: 1));
            log.ResetTo(0, 0, ReadOnlyMemory<byte>.Empty);
            log.Append(Records(1, 20, term: 3));
            segment = dir.SegmentFiles().Single();
        }

        FlipBit(segment, (4 * RecordBytes) + 30);

        using var reopened = SegmentedLog.Open(dir.Path);
        Assert.Equal(4ul, reopened.LastIndex);
        Assert.Equal(3ul, reopened.Term(4));
    }

    [Fact]
    public void A_log_compacted_up_to_its_last_entry_reopens_twice()
    {
        using var dir = new TempDirectory();
        using (var log = SegmentedLog.Open(dir.Path))
        {
            AppendAndSync(log, Records(1, 10, term: 1));
            log.CompactBefore(11, ReadOnlyMemory<byte>.Empty);
        }

        // The first reopen deletes the segment wholly below the point; the second must not miss it.
        SegmentedLog.Open(dir.Path).Dispose();
        using var reopened = SegmentedLog.Open(dir.Path);
        Assert.Equal(11ul, reopened.FirstIndex);
        Assert.Equal(10ul, reopened.LastIndex);
    }

    /// <summary>Records 1..100 synced, 101..300 only handed to the OS; returns the segment's path.</summary>
    private static string WriteSyncedThenUnsynced(TempDirectory dir)
    {
        using (var log = SegmentedLog.Open(dir.Path))
        {
            AppendAndSync(log, Records(1, Synced, term: 1));
            log.Append(Records(Synced + 1, Synced + Unsynced, term: 1));
        }

        return dir.SegmentFiles().Single();
    }

    private static void Overwrite(string path, long offset, byte[] bytes)
    {
        using var stream = new FileStream(path, FileMode.Open);
        stream.Position = offset;
        stream.Write(bytes);
    }

    private static void FlipBit(string path, long offset)
    {
        byte[] bytes = File.ReadAllBytes(path);
        bytes[offset] ^= 0x08;
        File.WriteAllBytes(path, bytes);
    }

    private static void Truncate(string path, long length)
    {
        using var stream = new FileStream(path, FileMode.Open);
        stream.SetLength(length);
    }
}
