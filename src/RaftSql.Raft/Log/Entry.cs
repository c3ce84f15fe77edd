namespace RaftSql.Raft;

/// <summary>Normal entries carry application data (empty data = the leader's no-op); ConfChange entries carry an encoded <see cref="ConfChange"/>.</summary>
public enum EntryType : byte
{
    Normal = 0,
    ConfChange = 1,
}

public sealed record Entry(ulong Term, ulong Index, EntryType Type, ReadOnlyMemory<byte> Data)
{
    /// <summary>Fixed per-entry overhead counted against byte limits, so empty entries still cost something.</summary>
    internal const int Overhead = 24;

    internal long Size => Data.Length + Overhead;
}
