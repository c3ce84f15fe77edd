using System.Diagnostics;
using RaftSql.Storage;
using Xunit.Abstractions;

namespace RaftSql.Tests.Storage;

/// <summary>
/// Measures group-commit throughput (one fsync per batch, 1 KiB payloads) and prints it; the figures are
/// reported, never asserted. What is asserted is that every synced record is there after reopening.
/// </summary>
public class SegmentedLogThroughputTests(ITestOutputHelper output)
{
    private const int PayloadBytes = 1024;

    [Theory]
    [InlineData(1, 1000)]
    [InlineData(64, 200)]
    public void Appends_with_one_fsync_per_batch(int batchSize, int batches)
    {
        using var dir = new TempDirectory();
        var payload = new byte[PayloadBytes];
        new Random(1).NextBytes(payload);
        var batch = new LogRecord[batchSize];
        var stopwatch = Stopwatch.StartNew();
        using (var log = SegmentedLog.Open(dir.Path))
        {
            ulong index = 1;
            for (int b = 0; b < batches; b++)
            {
                for (int i = 0; i < batchSize; i++)
                {
                    batch[i] = new LogRecord(index++, 1, 0, payload);
                }

                log.Append(batch);
                log.Sync();
            }
        }

        stopwatch.Stop();
        int records = batchSize * batches;
        double seconds = stopwatch.Elapsed.TotalSeconds;
        output.WriteLine(
            $"batch {batchSize,2}: {records / seconds,9:F0} records/s, {records * (double)PayloadBytes / seconds / (1 << 20),7:F1} MiB/s payload, " +
            $"{batches / seconds,7:F0} fsyncs/s ({records} records in {seconds:F2} s)");

        using var reopened = SegmentedLog.Open(dir.Path);
        Assert.Equal((ulong)records, reopened.LastIndex);
        Assert.Equal(payload, reopened.Read((ulong)records, (ulong)records + 1, long.MaxValue)[0].Payload.ToArray());
    }
}
