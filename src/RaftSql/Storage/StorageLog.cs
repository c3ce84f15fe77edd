using Microsoft.Extensions.Logging;

namespace RaftSql.Storage;

/// <summary>Log lines of the storage layer; event ids 1100-1199 belong to it.</summary>
internal static partial class StorageLog
{
    [LoggerMessage(EventId = 1100, EventName = "RaftLogOpened", Level = LogLevel.Information,
        Message = "Opened Raft log in {Directory}: first index {FirstIndex}, last index {LastIndex}, {Segments} segment(s)")]
    public static partial void Opened(ILogger logger, string directory, ulong firstIndex, ulong lastIndex, int segments);

    [LoggerMessage(EventId = 1101, EventName = "RaftLogTornTailTruncated", Level = LogLevel.Warning,
        Message = "Truncated the tail of Raft log segment {Path} at offset {Offset} ({DroppedBytes} bytes dropped): {Reason}")]
    public static partial void TornTailTruncated(ILogger logger, string path, long offset, long droppedBytes, string reason);

    [LoggerMessage(EventId = 1102, EventName = "RaftLogStaleEntriesDiscarded", Level = LogLevel.Warning,
        Message = "Discarded Raft log entries after index {Index}: the log's term there differs from the compaction point's (an interrupted snapshot install)")]
    public static partial void StaleEntriesDiscarded(ILogger logger, ulong index);

    [LoggerMessage(EventId = 1103, EventName = "RaftLogSegmentsDeleted", Level = LogLevel.Debug,
        Message = "Deleted {Count} Raft log segment(s) wholly at or below compaction index {Index}")]
    public static partial void SegmentsDeleted(ILogger logger, int count, ulong index);
}
