namespace RaftSql.Raft;

public enum LogUnavailableReason
{
    Compacted,
    Unavailable,
}

/// <summary>Thrown by <see cref="IRaftStorage"/> when an index is compacted or not (yet) in the log.</summary>
public sealed class RaftLogUnavailableException(LogUnavailableReason reason, ulong index)
    : Exception($"Log index {index} is {(reason == LogUnavailableReason.Compacted ? "compacted" : "unavailable")}.")
{
    public LogUnavailableReason Reason { get; } = reason;

    public ulong Index { get; } = index;
}
