using RaftSql.Storage;

namespace RaftSql.Tests.Storage;

/// <summary>
/// Drives the log with random appends, overwrites, compactions, resets, reopens and torn tails, and checks it
/// against a plain list after every step. A failing seed replays exactly.
/// </summary>
public class SegmentedLogModelTests
{
    private static readonly SegmentedLogOptions SmallSegments = new() { SegmentBytes = 1024 };

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void The_log_behaves_like_a_list(int seed)
    {
        using var dir = new TempDirectory();
        var random = new Random(seed);
        var model = new Model();
        SegmentedLog log = SegmentedLog.Open(dir.Path, SmallSegments);
        try
        {
            for (int step = 0; step < 400; step++)
            {
                string operation = RunRandomOperation(random, model, ref log, dir);
                try
                {
                    CheckAgainstModel(random, log, model);
                }
                catch (Exception e)
                {
                    throw new InvalidOperationException($"Seed {seed}, step {step} ({operation}) diverged from the model.", e);
                }
            }
        }
        finally
        {
            log.Dispose();
        }
    }

    private static string RunRandomOperation(Random random, Model model, ref SegmentedLog log, TempDirectory dir)
    {
        int roll = random.Next(100);
        if (roll < 60)
        {
            // Usually extend the log, sometimes overwrite a suffix (a new leader's conflicting entries).
            ulong from = random.Next(4) == 0 ? RandomIndex(random, model.FirstIndex, model.LastIndex + 1) : model.LastIndex + 1;
            ulong term = Math.Max(model.TermAt(from - 1), model.CurrentTerm) + (ulong)(from <= model.LastIndex ? 1 : 0);
            model.CurrentTerm = term;
            var records = new LogRecord[random.Next(1, 9)];
            for (int i = 0; i < records.Length; i++)
            {
                var payload = new byte[random.Next(10) == 0 ? random.Next(1000, 3000) : random.Next(0, 200)];
                random.NextBytes(payload);
                records[i] = new LogRecord(from + (ulong)i, term, (byte)random.Next(256), payload);
            }

            log.Append(records);
            model.Append(records);
            if (random.Next(3) > 0)
            {
                log.Sync();
            }

            return $"append {records.Length} at {from}, term {term}";
        }

        if (roll < 72)
        {
            ulong index = RandomIndex(random, model.FirstIndex, model.LastIndex + 1);
            byte[] membership = [(byte)random.Next(256), (byte)random.Next(256)];
            log.CompactBefore(index, membership);
            model.CompactBefore(index, membership);
            return $"compact before {index}";
        }

        if (roll < 75)
        {
            ulong index = model.Point.Index + (ulong)random.Next(0, 40);
            ulong term = Math.Max(model.CurrentTerm, index >= model.FirstIndex - 1 && index <= model.LastIndex ? model.TermAt(index) : 0) + 1;
            model.CurrentTerm = term;
            byte[] membership = [(byte)random.Next(256)];
            log.ResetTo(index, term, membership);
            model.ResetTo(new CompactionPoint(index, term, membership));
            return $"reset to {index}, term {term}";
        }

        log.Sync();
        log.Dispose();
        string description = "reopen";
        string[] segments = dir.SegmentFiles();
        if (segments.Length > 0 && random.Next(2) == 0)
        {
            // A crash mid-write leaves a partial record after the last good one.
            var garbage = new byte[random.Next(1, 60)];
            random.NextBytes(garbage);
            using var stream = new FileStream(segments[^1], FileMode.Append);
            stream.Write(garbage);
            description = $"reopen after {garbage.Length} torn bytes";
        }

        log = SegmentedLog.Open(dir.Path, SmallSegments);
        return description;
    }

    private static void CheckAgainstModel(Random random, SegmentedLog log, Model model)
    {
        Assert.Equal(model.FirstIndex, log.FirstIndex);
        Assert.Equal(model.LastIndex, log.LastIndex);
        Assert.Equal(model.Point.Index, log.CompactionPoint.Index);
        Assert.Equal(model.Point.Term, log.CompactionPoint.Term);
        Assert.Equal(model.Point.Membership.ToArray(), log.CompactionPoint.Membership.ToArray());
        Assert.Equal(model.Point.Term, log.Term(model.Point.Index));

        ulong from = RandomIndex(random, model.FirstIndex, model.LastIndex + 1);
        ulong to = RandomIndex(random, from, model.LastIndex + 1);
        long budget = random.Next(0, 4000);
        IReadOnlyList<LogRecord> read = log.Read(from, to, budget);
        List<LogRecord> expected = model.Range(from, to, budget);
        Assert.Equal(expected.Count, read.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            LogTestData.AssertSame(expected[i], read[i]);
            Assert.Equal(expected[i].Term, log.Term(expected[i].Index));
        }
    }

    private static ulong RandomIndex(Random random, ulong lowInclusive, ulong highInclusive) =>
        lowInclusive + (ulong)random.NextInt64(0, (long)(highInclusive - lowInclusive + 1));

    private sealed class Model
    {
        private readonly List<LogRecord> _entries = [];

        public CompactionPoint Point { get; private set; } = CompactionPoint.None;

        public ulong CurrentTerm { get; set; }

        public ulong FirstIndex => Point.Index + 1;

        public ulong LastIndex => Point.Index + (ulong)_entries.Count;

        public ulong TermAt(ulong index) => index == Point.Index ? Point.Term : _entries[(int)(index - FirstIndex)].Term;

        public void Append(LogRecord[] records)
        {
            _entries.RemoveRange((int)(records[0].Index - FirstIndex), (int)(LastIndex + 1 - records[0].Index));
            _entries.AddRange(records);
        }

        public void CompactBefore(ulong index, byte[] membership)
        {
            if (index <= FirstIndex)
            {
                return;
            }

            var point = new CompactionPoint(index - 1, TermAt(index - 1), membership);
            _entries.RemoveRange(0, (int)(index - FirstIndex));
            Point = point;
        }

        public void ResetTo(CompactionPoint point)
        {
            _entries.Clear();
            Point = point;
        }

        public List<LogRecord> Range(ulong from, ulong to, long maxBytes)
        {
            var result = new List<LogRecord>();
            long used = 0;
            for (ulong i = from; i < to; i++)
            {
                LogRecord record = _entries[(int)(i - FirstIndex)];
                long size = 25 + record.Payload.Length;
                if (result.Count > 0 && used + size > maxBytes)
                {
                    break;
                }

                result.Add(record);
                used += size;
            }

            return result;
        }
    }
}
