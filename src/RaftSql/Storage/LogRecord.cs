namespace RaftSql.Storage;

/// <summary>One Raft log entry as the storage layer sees it: the type and payload are opaque bytes.</summary>
public readonly record struct LogRecord(ulong Index, ulong Term, byte Type, ReadOnlyMemory<byte> Payload)
{
    /// <summary>Largest payload one record may carry; a sanity bound that also caps what recovery will believe.</summary>
    public const int MaxPayloadBytes = 1 << 30;
}
