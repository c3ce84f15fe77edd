using System.Buffers.Binary;

namespace RaftSql.Storage;

/// <summary>
/// Persists the <see cref="CompactionPoint"/> in one checksummed file replaced atomically.
/// Layout (little-endian): magic, index, term, membership length, membership bytes, CRC-32C of all preceding bytes.
/// </summary>
internal static class CompactionPointFile
{
    public const string FileName = "compaction-point";

    private const uint Magic = 0x50435352; // "RSCP"
    private const int FixedSize = 4 + 8 + 8 + 4 + 4;

    public static CompactionPoint Load(IStorageFiles files, string path)
    {
        if (!files.Exists(path))
        {
            return CompactionPoint.None;
        }

        byte[] bytes = files.ReadAllBytes(path);
        ReadOnlySpan<byte> span = bytes;
        if (bytes.Length < FixedSize || BinaryPrimitives.ReadUInt32LittleEndian(span) != Magic)
        {
            throw StorageErrors.Corrupt(path, 0, "not a compaction-point file (short or bad magic)");
        }

        uint membershipLength = BinaryPrimitives.ReadUInt32LittleEndian(span[20..]);
        if (membershipLength != (uint)(bytes.Length - FixedSize))
        {
            throw StorageErrors.Corrupt(path, 20, $"membership length {membershipLength} does not match the file size {bytes.Length}");
        }

        int crcOffset = bytes.Length - 4;
        if (BinaryPrimitives.ReadUInt32LittleEndian(span[crcOffset..]) != Crc32C.Compute(span[..crcOffset]))
        {
            throw StorageErrors.Corrupt(path, crcOffset, "checksum mismatch");
        }

        return new CompactionPoint(
            BinaryPrimitives.ReadUInt64LittleEndian(span[4..]),
            BinaryPrimitives.ReadUInt64LittleEndian(span[12..]),
            span.Slice(24, (int)membershipLength).ToArray());
    }

    public static void Save(IStorageFiles files, string path, CompactionPoint point)
    {
        var bytes = new byte[FixedSize + point.Membership.Length];
        Span<byte> span = bytes;
        BinaryPrimitives.WriteUInt32LittleEndian(span, Magic);
        BinaryPrimitives.WriteUInt64LittleEndian(span[4..], point.Index);
        BinaryPrimitives.WriteUInt64LittleEndian(span[12..], point.Term);
        BinaryPrimitives.WriteUInt32LittleEndian(span[20..], (uint)point.Membership.Length);
        point.Membership.Span.CopyTo(span[24..]);
        int crcOffset = bytes.Length - 4;
        BinaryPrimitives.WriteUInt32LittleEndian(span[crcOffset..], Crc32C.Compute(span[..crcOffset]));
        AtomicFile.Write(files, path, span);
    }
}
