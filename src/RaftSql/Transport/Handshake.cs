using System.Buffers.Binary;

namespace RaftSql.Transport;

/// <summary>
/// The first bytes of every connection. All integers are big-endian (network order).
/// <code>
/// hello (connecting side, 15 bytes): "RSQL" | kind u8 | version u16 | sender node id u64 (0 for clients)
/// reply (server, 11 bytes):          status u8 | server version u16 | server node id u64
/// </code>
/// After a rejecting reply the server closes the connection. A hello with the wrong magic gets no
/// reply at all: whatever is talking is not a RaftSql peer.
/// </summary>
internal static class Handshake
{
    public const ushort CurrentVersion = 1;
    public const int HelloSize = 15;
    public const int ReplySize = 11;

    public static ReadOnlySpan<byte> Magic => "RSQL"u8;

    public static byte[] EncodeHello(Hello hello)
    {
        var bytes = new byte[HelloSize];
        Magic.CopyTo(bytes);
        bytes[4] = (byte)hello.Kind;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(5), hello.Version);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(7), hello.SenderId);
        return bytes;
    }

    /// <summary>Decodes a hello; a wrong magic is a <see cref="RaftSqlErrorCode.ProtocolError"/>.</summary>
    public static Hello DecodeHello(ReadOnlySpan<byte> bytes)
    {
        if (!bytes[..4].SequenceEqual(Magic))
        {
            throw new RaftSqlException(RaftSqlErrorCode.ProtocolError,
                $"Connection does not start with the RaftSql magic (got {Convert.ToHexString(bytes[..4])}).");
        }

        return new Hello((ProtocolKind)bytes[4], BinaryPrimitives.ReadUInt16BigEndian(bytes[5..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[7..]));
    }

    public static byte[] EncodeReply(HandshakeReply reply)
    {
        var bytes = new byte[ReplySize];
        bytes[0] = (byte)reply.Status;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(1), reply.Version);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(3), reply.NodeId);
        return bytes;
    }

    public static HandshakeReply DecodeReply(ReadOnlySpan<byte> bytes) =>
        new((HandshakeStatus)bytes[0], BinaryPrimitives.ReadUInt16BigEndian(bytes[1..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[3..]));
}

/// <summary>What the connecting side announces.</summary>
internal readonly record struct Hello(ProtocolKind Kind, ushort Version, ulong SenderId);

/// <summary>The server's answer to a <see cref="Hello"/>.</summary>
internal readonly record struct HandshakeReply(HandshakeStatus Status, ushort Version, ulong NodeId);

internal enum HandshakeStatus : byte
{
    Accepted = 0,
    UnknownKind = 1,
    UnsupportedVersion = 2,
}
