using System.Buffers.Binary;

namespace RaftSql.Storage;

/// <summary>
/// On-disk layout of one log record (little-endian):
/// <c>[u32 bodyLength][u32 crc32c][u64 term][u64 index][u8 type][payload]</c>.
/// The body is everything after the CRC; the CRC covers the length field and the body, so a damaged
/// length is caught too. A zero length is never valid, which makes zero-filled tails easy to spot.
/// </summary>
internal static class RecordFormat
{
    public const int PrefixSize = 8;       // length + crc
    public const int BodyHeaderSize = 17;  // term + index + type
    public const int HeaderSize = PrefixSize + BodyHeaderSize;

    public static int EncodedSize(int payloadLength) => HeaderSize + payloadLength;

    public static void Encode(in LogRecord record, Span<byte> destination)
    {
        int bodyLength = BodyHeaderSize + record.Payload.Length;
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)bodyLength);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], record.Term);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], record.Index);
        destination[24] = record.Type;
        record.Payload.Span.CopyTo(destination[HeaderSize..]);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Checksum(destination[..(PrefixSize + bodyLength)]));
    }

    /// <summary>CRC of a whole encoded record (length field + body, skipping the CRC field itself).</summary>
    public static uint Checksum(ReadOnlySpan<byte> encoded) =>
        Crc32C.Append(Crc32C.Compute(encoded[..4]), encoded[PrefixSize..]);

    /// <summary>The body length the prefix claims, or -1 when it cannot be a record.</summary>
    public static int ReadBodyLength(ReadOnlySpan<byte> prefix)
    {
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(prefix);
        return length is < BodyHeaderSize or > BodyHeaderSize + LogRecord.MaxPayloadBytes ? -1 : (int)length;
    }

    public static uint ReadStoredChecksum(ReadOnlySpan<byte> encoded) => BinaryPrimitives.ReadUInt32LittleEndian(encoded[4..]);

    public static ulong ReadTerm(ReadOnlySpan<byte> encoded) => BinaryPrimitives.ReadUInt64LittleEndian(encoded[8..]);

    public static ulong ReadIndex(ReadOnlySpan<byte> encoded) => BinaryPrimitives.ReadUInt64LittleEndian(encoded[16..]);

    public static byte ReadType(ReadOnlySpan<byte> encoded) => encoded[24];
}
