using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace RaftSql.Sqlite.Wal;

/// <summary>
/// The WAL file format (sqlite.org/fileformat2.html, "The Write-Ahead Log"): a 32-byte header, then
/// frames of a 24-byte header plus one page. Integers in the file are big-endian; checksums are
/// computed over 32-bit words in the byte order the magic number names. We always write the
/// little-endian magic on little-endian hosts, as SQLite does, so words are read natively.
/// </summary>
internal static class WalFormat
{
    public const int HeaderSize = 32;
    public const int FrameHeaderSize = 24;
    public const uint MagicLittleEndian = 0x377f0682;
    public const uint FormatVersion = 3007000;

    public static long FrameOffset(uint frame, int pageSize) => HeaderSize + (long)(frame - 1) * (FrameHeaderSize + pageSize);

    /// <summary>SQLite's Fletcher-like checksum, continuing from (<paramref name="s1"/>, <paramref name="s2"/>).
    /// <paramref name="data"/>.Length must be a multiple of 8.</summary>
    public static void Checksum(ReadOnlySpan<byte> data, ref uint s1, ref uint s2)
    {
        var words = MemoryMarshal.Cast<byte, uint>(data);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("RaftSql's WAL writer supports little-endian hosts only.");
        }
        uint a = s1, b = s2;
        for (var i = 0; i < words.Length; i += 2)
        {
            a += words[i] + b;
            b += words[i + 1] + a;
        }
        s1 = a;
        s2 = b;
    }

    /// <summary>Writes a WAL file header and returns its checksum, which seeds the first frame's.</summary>
    public static (uint S1, uint S2) WriteHeader(Span<byte> header, int pageSize, uint checkpointSequence, uint salt1, uint salt2)
    {
        BinaryPrimitives.WriteUInt32BigEndian(header[0..], MagicLittleEndian);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], FormatVersion);
        BinaryPrimitives.WriteUInt32BigEndian(header[8..], (uint)pageSize);
        BinaryPrimitives.WriteUInt32BigEndian(header[12..], checkpointSequence);
        // Salts are kept as the raw file bytes (as the WAL-index does), i.e. native-order reads of them.
        MemoryMarshal.Write(header[16..], in salt1);
        MemoryMarshal.Write(header[20..], in salt2);
        uint s1 = 0, s2 = 0;
        Checksum(header[..24], ref s1, ref s2);
        BinaryPrimitives.WriteUInt32BigEndian(header[24..], s1);
        BinaryPrimitives.WriteUInt32BigEndian(header[28..], s2);
        return (s1, s2);
    }

    /// <summary>Encodes one frame (header and page) into <paramref name="frame"/>, advancing the running checksum.</summary>
    public static void WriteFrame(Span<byte> frame, uint pageNumber, uint commitSize, uint salt1, uint salt2,
        ReadOnlySpan<byte> page, ref uint s1, ref uint s2)
    {
        BinaryPrimitives.WriteUInt32BigEndian(frame[0..], pageNumber);
        BinaryPrimitives.WriteUInt32BigEndian(frame[4..], commitSize);
        MemoryMarshal.Write(frame[8..], in salt1);
        MemoryMarshal.Write(frame[12..], in salt2);
        Checksum(frame[..8], ref s1, ref s2);
        Checksum(page, ref s1, ref s2);
        BinaryPrimitives.WriteUInt32BigEndian(frame[16..], s1);
        BinaryPrimitives.WriteUInt32BigEndian(frame[20..], s2);
        page.CopyTo(frame[FrameHeaderSize..]);
    }

    /// <summary>Salt-1 is incremented as a big-endian number when the WAL restarts.</summary>
    public static uint NextSalt1(uint rawSalt1)
        => BinaryPrimitives.ReverseEndianness(BinaryPrimitives.ReverseEndianness(rawSalt1) + 1);
}
