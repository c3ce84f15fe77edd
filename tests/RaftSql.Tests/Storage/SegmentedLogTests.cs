using RaftSql.Storage;
using static RaftSql.Tests.Storage.LogTestData;

namespace RaftSql.Tests.Storage;

public class SegmentedLogTests
{
    [Fact]
    public void A_new_log_is_empty_and_starts_at_index_one()
    {
        using var dir = new TempDirectory();
        using var log = SegmentedLog.Open(dir.Path);
        Assert.Equal(1ul, log.FirstIndex);
        Assert.Equal(0ul, log.LastIndex);
        Assert.Equal(0ul, log.Term(0));
        Assert.Empty(log.Read(1, 1, 100));
    }

    [Fact]
    public void Appended_records_read_back_and_survive_reopen()
    {
        using var dir = new TempDirectory();
        LogRecord[] records = [.. Records(1, 5, term: 1), .. Records(6, 10, term: 3)];
        using (var log = SegmentedLog.Open(dir.Path))
        {
            AppendAndSync(log, records);
            AssertLog(log, records);
        }

        using var reopened = SegmentedLog.Open(dir.Path);
        AssertLog(reopened, records);
        Assert.Equal(3ul, reopened.Term(10));
        Assert.Equal(1ul, reopened.Term(5));
    }

    [Fact]
    public void Read_stops_at_the_byte_budget_but_returns_at_least_one_record()
    {
        using var dir = new TempDirectory();
        using var log = SegmentedLog.Open(dir.Path);
        AppendAndSync(log, Records(1, 10, term: 1, payloadBytes: 100));
        int recordSize = 25 + 100;

        Assert.Single(log.Read(1, 11, maxBytes: 1));
        Assert.Equal(3, log.Read(1, 11, maxBytes: 3 * recordSize).Count);
        Assert.Equal(3, log.Read(1, 11, maxBytes: (4 * recordSize) - 1).Count);
        Assert.Equal(4, log.Read(3, 7, maxBytes: long.MaxValue).Count);
        Assert.Equal([5ul, 6ul], log.Read(5, 7, maxBytes: long.MaxValue).Select(r => r.Index));
    }

    [Fact]
    public void Appending_below_the_last_index_replaces_the_conflicting_suffix()
    {
        using var dir = new TempDirectory();
        LogRecord[] replacement = Records(4, 6, term: 2);
        using (var log = SegmentedLog.Open(dir.Path))
        {
            AppendAndSync(log, Records(1, 8, term: 1));
            AppendAndSync(log, replacement);
            Assert.Equal(6ul, log.LastIndex);
            AssertLog(log, [.. Records(1, 3, term: 1), .. replacement]);
        }

        using var reopened = SegmentedLog.Open(dir.Path);
        AssertLog(reopened, [.. Records(1, 3, term: 1), .. replacement]);
    }

    [Fact]
    public void Reads_see_appends_before_sync()
    {
        using var dir = new TempDirectory();
        using var log = SegmentedLog.Open(dir.Path);
        log.Append(Records(1, 3, term: 1));
        Assert.Equal(3ul, log.LastIndex);
        Assert.Equal(3, ReadAll(log).Count);
    }

    [Fact]
    public void Appends_that_would_leave_a_gap_or_break_the_log_are_rejected()
    {
        using var dir = new TempDirectory();
        using var log = SegmentedLog.Open(dir.Path);
        AppendAndSync(log, Records(1, 3, term: 2));

        Assert.Throws<ArgumentException>(() => log.Append([Record(5, 2)]));
        Assert.Throws<ArgumentException>(() => log.Append([Record(4, 2), Record(6, 2)]));
        Assert.Throws<ArgumentException>(() => log.Append([Record(4, 1)]));
        Assert.Throws<ArgumentException>(() => log.Append([Record(0, 2)]));
        Assert.Equal(3ul, log.LastIndex);
    }

    [Fact]
    public void Out_of_range_reads_and_terms_are_rejected()
    {
        using var dir = new TempDirectory();
        using var log = SegmentedLog.Open(dir.Path);
        AppendAndSync(log, Records(1, 3, term: 1));

        Assert.Throws<ArgumentOutOfRangeException>(() => log.Read(0, 2, 100));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.Read(2, 5, 100));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.Read(3, 2, 100));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.Term(4));
    }

    [Fact]
    public async Task Concurrent_readers_see_consistent_records_while_one_writer_appends()
    {
        using var dir = new TempDirectory();
        using var log = SegmentedLog.Open(dir.Path, new SegmentedLogOptions { SegmentBytes = 4096 });
        const ulong total = 2000;
        using var done = new CancellationTokenSource();
        Task[] readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                ulong last = log.LastIndex;
                foreach (LogRecord record in log.Read(1, last + 1, 64 * 1024))
                {
                    AssertSame(Record(record.Index, 1), record);
                }
            }
        })).ToArray();

        for (ulong i = 1; i <= total; i += 10)
        {
            log.Append(Records(i, i + 9, term: 1));
            log.Sync();
        }

        done.Cancel();
        await Task.WhenAll(readers);
        Assert.Equal(total, log.LastIndex);
    }

    internal static void AssertLog(SegmentedLog log, IReadOnlyList<LogRecord> expected)
    {
        Assert.Equal(expected[0].Index, log.FirstIndex);
        Assert.Equal(expected[^1].Index, log.LastIndex);
        IReadOnlyList<LogRecord> actual = ReadAll(log);
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            AssertSame(expected[i], actual[i]);
            Assert.Equal(expected[i].Term, log.Term(expected[i].Index));
        }
    }
}
