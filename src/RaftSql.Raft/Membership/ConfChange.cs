using System.Buffers.Binary;
using System.Text;

namespace RaftSql.Raft;

public enum ConfChangeType : byte
{
    AddOrUpdate = 1,
    Remove = 2,
}

/// <summary>A single-member configuration change, carried in the log as a ConfChange entry.</summary>
public sealed record ConfChange(ConfChangeType Type, Member Member)
{
    public static ConfChange AddOrUpdate(Member member) => new(ConfChangeType.AddOrUpdate, member);

    public static ConfChange Remove(ulong id) => new(ConfChangeType.Remove, new Member(id, MemberRole.Spare, ""));

    // Layout: type (1) | id (8, LE) | role (1) | address length (4, LE) | address (UTF-8).
    private const int HeaderSize = 1 + 8 + 1 + 4;

    public byte[] Encode()
    {
        var address = Encoding.UTF8.GetBytes(Member.Address);
        var buffer = new byte[HeaderSize + address.Length];
        buffer[0] = (byte)Type;
        BinaryPrimitives.WriteUInt64LittleEndian(buffer.AsSpan(1), Member.Id);
        buffer[9] = (byte)Member.Role;
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(10), address.Length);
        address.CopyTo(buffer.AsSpan(HeaderSize));
        return buffer;
    }

    /// <exception cref="ArgumentException">The bytes are not an encoded configuration change.</exception>
    public static ConfChange Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length < HeaderSize) throw new ArgumentException("Configuration change is truncated.", nameof(data));
        var type = (ConfChangeType)data[0];
        if (type is not (ConfChangeType.AddOrUpdate or ConfChangeType.Remove))
            throw new ArgumentException($"Unknown configuration change type {data[0]}.", nameof(data));
        var id = BinaryPrimitives.ReadUInt64LittleEndian(data[1..]);
        var role = (MemberRole)data[9];
        if (role is not (MemberRole.Voter or MemberRole.Standby or MemberRole.Spare))
            throw new ArgumentException($"Unknown member role {data[9]}.", nameof(data));
        var length = BinaryPrimitives.ReadInt32LittleEndian(data[10..]);
        if (id == 0 || length < 0 || length != data.Length - HeaderSize)
            throw new ArgumentException("Configuration change is malformed.", nameof(data));
        return new ConfChange(type, new Member(id, role, Encoding.UTF8.GetString(data[HeaderSize..])));
    }
}
