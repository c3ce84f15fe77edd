using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace RaftSql.Sqlite.Snapshots;

/// <summary>
/// The snapshot stream: "RSQLSNAP", a version byte, the snapshot's index (the lowest of the databases')
/// and the database count; per database its name, the index up to which its files hold every entry of
/// it (and none after), page size, size in pages, the database file and then the WAL pages not yet
/// checkpointed (in WAL order); finally a CRC-32 of everything before it. Version 1 (one index for
/// every database) is refused.
/// </summary>
internal static class SnapshotFormat
{
    public static ReadOnlySpan<byte> Magic => "RSQLSNAP"u8;
    public const byte Version = 2;
    public const int ChunkSize = 64 * 1024;
}

/// <summary>Writes snapshot fields to a stream, hashing everything written.</summary>
internal sealed class SnapshotWriter(Stream destination)
{
    private readonly Crc32 _crc = new();
    private readonly byte[] _scratch = new byte[8];

    public void Bytes(ReadOnlySpan<byte> data)
    {
        _crc.Append(data);
        destination.Write(data);
    }

    public void UInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_scratch, value);
        Bytes(_scratch.AsSpan(0, 4));
    }

    public void UInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_scratch, value);
        Bytes(_scratch);
    }

    public void String(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        UInt32((uint)bytes.Length);
        Bytes(bytes);
    }

    public void Finish()
    {
        var crc = _crc.GetCurrentHashAsUInt32();
        BinaryPrimitives.WriteUInt32LittleEndian(_scratch, crc);
        destination.Write(_scratch.AsSpan(0, 4));
        destination.Flush();
    }
}

/// <summary>Reads snapshot fields, hashing everything read; any inconsistency is a SnapshotFailed error.</summary>
internal sealed class SnapshotReader(Stream source)
{
    private readonly Crc32 _crc = new();
    private readonly byte[] _scratch = new byte[8];

    public void Bytes(Span<byte> buffer)
    {
        try
        {
            source.ReadExactly(buffer);
        }
        catch (EndOfStreamException e)
        {
            throw Failed("the snapshot stream ended early", e);
        }
        _crc.Append(buffer);
    }

    public uint UInt32()
    {
        Bytes(_scratch.AsSpan(0, 4));
        return BinaryPrimitives.ReadUInt32LittleEndian(_scratch);
    }

    public ulong UInt64()
    {
        Bytes(_scratch);
        return BinaryPrimitives.ReadUInt64LittleEndian(_scratch);
    }

    public string String(int maxBytes)
    {
        var length = UInt32();
        if (length > maxBytes)
        {
            throw Failed("a name is too long");
        }
        var bytes = new byte[length];
        Bytes(bytes);
        return Encoding.UTF8.GetString(bytes);
    }

    public void VerifyTrailer()
    {
        var expected = _crc.GetCurrentHashAsUInt32();
        try
        {
            source.ReadExactly(_scratch.AsSpan(0, 4));
        }
        catch (EndOfStreamException e)
        {
            throw Failed("the snapshot stream ended early", e);
        }
        if (BinaryPrimitives.ReadUInt32LittleEndian(_scratch) != expected)
        {
            throw Failed("checksum mismatch");
        }
    }

    public static RaftSqlException Failed(string why, Exception? inner = null)
        => new(RaftSqlErrorCode.SnapshotFailed, $"Cannot install snapshot: {why}.", inner);
}
