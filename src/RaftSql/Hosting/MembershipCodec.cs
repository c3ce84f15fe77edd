using Google.Protobuf;
using RaftSql.Raft;

namespace RaftSql.Hosting;

/// <summary>Membership as bytes (the storage's compaction point keeps it opaque): the wire's member list.</summary>
internal static class MembershipCodec
{
    public static byte[] Encode(Membership membership)
    {
        var proto = new Protocol.SnapshotMetadata();
        proto.Members.AddRange(membership.Members.Select(WireMapper.ToWire));
        return proto.ToByteArray();
    }

    public static Membership Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
            return Membership.Empty;
        var proto = Protocol.SnapshotMetadata.Parser.ParseFrom(bytes);
        return new Membership(proto.Members.Select(WireMapper.FromWire));
    }
}
