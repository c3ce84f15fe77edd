namespace RaftSql.Storage;

public sealed record SegmentedLogOptions
{
    public const long DefaultSegmentBytes = 64L << 20;

    /// <summary>A new segment is started when the next record would push the active one past this size.</summary>
    public long SegmentBytes { get; init; } = DefaultSegmentBytes;
}
