using System.Buffers.Binary;

namespace RaftSql.Storage;

/// <summary>How many bytes of segment <paramref name="Segment"/> (its first index) an fsync is known to have covered.</summary>
internal readonly record struct SyncedPoint(ulong Segment, long Length);

/// <summary>
/// Remembers, in one small file, how far the active segment was synced, so recovery can tell acknowledged
/// records (damage there is corruption) from a torn unsynced tail (cut). It is written after each fsync
/// returns, without an fsync of its own: after a power loss it may lag, never lead. Every cut or deletion of
/// records first lowers it durably (<see cref="Clear"/>), so it never vouches for bytes that were replaced.
/// Layout (little-endian): magic, segment first index, length, CRC-32C of the preceding bytes.
/// </summary>
internal sealed class SyncedMark : IDisposable
{
    public const string FileName = "synced";

    private const uint Magic = 0x4D535352; // "RSSM"
    private const int Size = 4 + 8 + 8 + 4;

    private readonly IStorageFile _file;

    private SyncedMark(IStorageFile file, SyncedPoint current)
    {
        _file = file;
        Current = current;
    }

    /// <summary>The last point recorded; all zeros when unknown.</summary>
    public SyncedPoint Current { get; private set; }

    /// <summary>Opens (creating if needed) the mark; a missing or damaged one reads as unknown, which only makes recovery more lenient.</summary>
    public static SyncedMark Open(IStorageFiles files, string directory)
    {
        IStorageFile file = files.Open(Path.Combine(directory, FileName), FileMode.OpenOrCreate);
        try
        {
            Span<byte> bytes = stackalloc byte[Size];
            int read = file.Read(bytes, 0);
            return new SyncedMark(file, read == Size ? Decode(bytes) : default);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Call only after an fsync covering <paramref name="point"/> returned.</summary>
    public void Record(SyncedPoint point)
    {
        if (point != Current)
        {
            Write(point);
        }
    }

    /// <summary>Records <paramref name="point"/> and makes the mark durable (on open, not per batch).</summary>
    public void RecordDurably(SyncedPoint point)
    {
        Write(point);
        _file.Sync();
    }

    /// <summary>Durably forgets the point; call before truncating or deleting records it may cover.</summary>
    public void Clear()
    {
        if (Current != default)
        {
            Write(default);
            _file.Sync();
        }
    }

    public void Dispose() => _file.Dispose();

    private void Write(SyncedPoint point)
    {
        Span<byte> bytes = stackalloc byte[Size];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Magic);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[4..], point.Segment);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[12..], point.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[(Size - 4)..], Crc32C.Compute(bytes[..(Size - 4)]));
        _file.Write(bytes, 0);
        Current = point;
    }

    private static SyncedPoint Decode(ReadOnlySpan<byte> bytes)
    {
        bool valid = BinaryPrimitives.ReadUInt32LittleEndian(bytes) == Magic
            && BinaryPrimitives.ReadUInt32LittleEndian(bytes[(Size - 4)..]) == Crc32C.Compute(bytes[..(Size - 4)]);
        return valid
            ? new SyncedPoint(BinaryPrimitives.ReadUInt64LittleEndian(bytes[4..]), BinaryPrimitives.ReadInt64LittleEndian(bytes[12..]))
            : default;
    }
}
