namespace RaftSql.Storage;

public sealed record SegmentedLogOptions
{
    public const long DefaultSegmentBytes = 64L << 20;

    /// <summary>Upper bound for <see cref="SegmentBytes"/>, so one segment's records always fit one read buffer.</summary>
    public const long MaxSegmentBytes = 1L << 30;

    /// <summary>
    /// A new segment is started when the next record would push the active one past this size
    /// (a single larger record gets a segment of its own).
    /// </summary>
    public long SegmentBytes { get; init; } = DefaultSegmentBytes;
}
