using RaftSql.Storage;
using static RaftSql.Tests.Storage.LogTestData;

namespace RaftSql.Tests.Storage;

/// <summary>Damage a closed log's files the way crashes and bad disks do, then reopen it.</summary>
public class RecoveryTests
{
    private const int PayloadBytes = 40;
    private const int RecordBytes = 25 + PayloadBytes;
    private const string TornTailEvent = "RaftLogTornTailTruncated";

    [Fact]
    public void A_tail_cut_at_any_offset_is_truncated_to_the_last_whole_record()
    {
        using var source = new TempDirectory();
        WriteLog(source.Path, count: 5, unsynced: 5);
        byte[] full = File.ReadAllBytes(source.SegmentFiles().Single());

        for (int cut = 0; cut < full.Length; cut++)
        {
            using var dir = CopyOf(source);
            string segment = dir.File(Path.GetFileName(source.SegmentFiles().Single()));
            File.WriteAllBytes(segment, full.AsSpan(0, cut).ToArray());
            var logger = new CapturingLogger();

            using var log = SegmentedLog.Open(dir.Path, logger: logger);

            ulong whole = (ulong)(cut / RecordBytes);
            Assert.Equal(whole, log.LastIndex);
            Assert.Equal(cut % RecordBytes != 0, logger.Logged(TornTailEvent));
            // A segment left without records is removed rather than kept empty.
            Assert.Equal((long)whole * RecordBytes, File.Exists(segment) ? new FileInfo(segment).Length : 0);
            AppendAndSync(log, Records(whole + 1, 6, term: 1));
            Assert.Equal(6, ReadAll(log).Count);
        }
    }

    [Fact]
    public void A_flipped_bit_anywhere_in_the_last_record_drops_only_that_record()
    {
        using var source = new TempDirectory();
        WriteLog(source.Path, count: 5, unsynced: 1);
        string name = Path.GetFileName(source.SegmentFiles().Single());
        byte[] full = File.ReadAllBytes(source.File(name));

        for (int offset = 4 * RecordBytes; offset < full.Length; offset++)
        {
            using var dir = CopyOf(source);
            File.WriteAllBytes(dir.File(name), FlipBit(full, offset));
            var logger = new CapturingLogger();

            using var log = SegmentedLog.Open(dir.Path, logger: logger);

            Assert.Equal(4ul, log.LastIndex);
            Assert.True(logger.Logged(TornTailEvent), $"no warning for a flip at offset {offset}");
            Assert.Equal(4, ReadAll(log).Count);
        }
    }

    [Fact]
    public void A_flipped_bit_in_a_middle_record_is_reported_as_corruption_with_file_and_offset()
    {
        using var source = new TempDirectory();
        WriteLog(source.Path, count: 5);
        string name = Path.GetFileName(source.SegmentFiles().Single());
        byte[] full = File.ReadAllBytes(source.File(name));

        for (int offset = 2 * RecordBytes; offset < 3 * RecordBytes; offset++)
        {
            using var dir = CopyOf(source);
            File.WriteAllBytes(dir.File(name), FlipBit(full, offset));

            var error = Assert.Throws<RaftSqlException>(() => SegmentedLog.Open(dir.Path));

            Assert.Equal(RaftSqlErrorCode.CorruptLog, error.Code);
            Assert.Contains(name, error.Message, StringComparison.Ordinal);
            Assert.Contains($"offset {2 * RecordBytes}", error.Message, StringComparison.Ordinal);
            Assert.Equal(full.Length, new FileInfo(dir.File(name)).Length);
        }
    }

    [Fact]
    public void A_zero_filled_tail_is_truncated()
    {
        using var dir = new TempDirectory();
        WriteLog(dir.Path, count: 5);
        string segment = dir.SegmentFiles().Single();
        using (var stream = new FileStream(segment, FileMode.Append))
        {
            stream.Write(new byte[8192]);
        }

        var logger = new CapturingLogger();
        using var log = SegmentedLog.Open(dir.Path, logger: logger);

        Assert.Equal(5ul, log.LastIndex);
        Assert.True(logger.Logged(TornTailEvent));
        Assert.Equal(5L * RecordBytes, new FileInfo(segment).Length);
    }

    [Fact]
    public void A_last_record_partly_overwritten_with_zeros_is_dropped()
    {
        using var dir = new TempDirectory();
        WriteLog(dir.Path, count: 5, unsynced: 1);
        string segment = dir.SegmentFiles().Single();
        using (var stream = new FileStream(segment, FileMode.Open))
        {
            stream.Position = (4 * RecordBytes) + 30;
            stream.Write(new byte[RecordBytes - 30]);
        }

        using var log = SegmentedLog.Open(dir.Path);
        Assert.Equal(4ul, log.LastIndex);
    }

    [Fact]
    public void Damage_in_a_segment_that_is_not_the_last_is_corruption_even_at_its_end()
    {
        using var dir = new TempDirectory();
        WriteLog(dir.Path, count: 20, segmentBytes: 4 * RecordBytes);
        string[] segments = dir.SegmentFiles();
        Assert.Equal(5, segments.Length);
        byte[] second = File.ReadAllBytes(segments[1]);
        File.WriteAllBytes(segments[1], FlipBit(second, second.Length - 1));

        var error = Assert.Throws<RaftSqlException>(() => SegmentedLog.Open(dir.Path));
        Assert.Equal(RaftSqlErrorCode.CorruptLog, error.Code);
        Assert.Contains(Path.GetFileName(segments[1]), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_middle_segment_is_corruption()
    {
        using var dir = new TempDirectory();
        WriteLog(dir.Path, count: 20, segmentBytes: 4 * RecordBytes);
        File.Delete(dir.SegmentFiles()[2]);

        var error = Assert.Throws<RaftSqlException>(() => SegmentedLog.Open(dir.Path));
        Assert.Equal(RaftSqlErrorCode.CorruptLog, error.Code);
    }

    [Fact]
    public void A_repaired_log_reopens_cleanly()
    {
        using var dir = new TempDirectory();
        WriteLog(dir.Path, count: 5, unsynced: 1);
        string segment = dir.SegmentFiles().Single();
        using (var stream = new FileStream(segment, FileMode.Open))
        {
            stream.SetLength(stream.Length - 3);
        }

        using (var log = SegmentedLog.Open(dir.Path))
        {
            AppendAndSync(log, Records(5, 7, term: 2));
        }

        var logger = new CapturingLogger();
        using var reopened = SegmentedLog.Open(dir.Path, logger: logger);
        Assert.False(logger.Logged(TornTailEvent));
        SegmentedLogTests.AssertLog(reopened, [.. Records(1, 4, term: 1), .. Records(5, 7, term: 2)]);
    }

    /// <summary>Writes records 1..count, syncing all but the last <paramref name="unsynced"/>: the ones a crash may tear.</summary>
    private static void WriteLog(string directory, int count, int unsynced = 0, long segmentBytes = SegmentedLogOptions.DefaultSegmentBytes)
    {
        using var log = SegmentedLog.Open(directory, new SegmentedLogOptions { SegmentBytes = segmentBytes });
        ulong synced = (ulong)(count - unsynced);
        if (synced > 0)
        {
            AppendAndSync(log, Records(1, synced, term: 1, PayloadBytes));
        }

        if (unsynced > 0)
        {
            log.Append(Records(synced + 1, (ulong)count, term: 1, PayloadBytes));
        }
    }

    /// <summary>A copy of every file of a closed log, so a test can damage it without touching the original.</summary>
    private static TempDirectory CopyOf(TempDirectory source)
    {
        var copy = new TempDirectory();
        foreach (string file in Directory.GetFiles(source.Path))
        {
            File.Copy(file, copy.File(Path.GetFileName(file)));
        }

        return copy;
    }

    private static byte[] FlipBit(byte[] bytes, int offset)
    {
        byte[] copy = bytes.ToArray();
        copy[offset] ^= (byte)(1 << (offset % 8));
        return copy;
    }
}
