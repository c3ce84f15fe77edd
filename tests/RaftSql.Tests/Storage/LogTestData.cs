using RaftSql.Storage;

namespace RaftSql.Tests.Storage;

internal static class LogTestData
{
    /// <summary>A record whose payload is derived from (index, term), so any mix-up is visible.</summary>
    public static LogRecord Record(ulong index, ulong term, int payloadBytes = 40)
    {
        var payload = new byte[payloadBytes];
        new Random(HashCode.Combine(index, term)).NextBytes(payload);
        return new LogRecord(index, term, (byte)(index % 7), payload);
    }

    public static LogRecord[] Records(ulong from, ulong toInclusive, ulong term, int payloadBytes = 40)
    {
        var records = new LogRecord[toInclusive - from + 1];
        for (ulong i = from; i <= toInclusive; i++)
        {
            records[i - from] = Record(i, term, payloadBytes);
        }

        return records;
    }

    public static void AssertSame(LogRecord expected, LogRecord actual)
    {
        Assert.Equal(expected.Index, actual.Index);
        Assert.Equal(expected.Term, actual.Term);
        Assert.Equal(expected.Type, actual.Type);
        Assert.Equal(expected.Payload.ToArray(), actual.Payload.ToArray());
    }

    public static IReadOnlyList<LogRecord> ReadAll(SegmentedLog log) =>
        log.Read(log.FirstIndex, log.LastIndex + 1, long.MaxValue);

    public static void AppendAndSync(SegmentedLog log, IReadOnlyList<LogRecord> records)
    {
        log.Append(records);
        log.Sync();
    }
}
