using System.Buffers.Binary;
using System.Numerics;

namespace RaftSql.Storage;

/// <summary>
/// CRC-32C (Castagnoli), as used by iSCSI, ext4 and etcd. System.IO.Hashing only offers the IEEE CRC-32;
/// <see cref="BitOperations.Crc32C(uint, ulong)"/> uses the SSE4.2 / ARMv8 instruction when present and a
/// table otherwise. Values are finalized (inverted), so <c>Append(Compute(a), b) == Compute(a ++ b)</c>.
/// </summary>
public static class Crc32C
{
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>Continues a finalized CRC over more bytes.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        uint state = ~crc;
        while (data.Length >= sizeof(ulong))
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }

        foreach (byte b in data)
        {
            state = BitOperations.Crc32C(state, b);
        }

        return ~state;
    }
}
