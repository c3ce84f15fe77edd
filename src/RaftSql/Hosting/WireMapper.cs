using System.Buffers.Binary;
using Google.Protobuf;
using RaftSql.Raft;

namespace RaftSql.Hosting;

/// <summary>Field-by-field mapping between the core's types and their wire (protobuf) forms.</summary>
internal static class WireMapper
{
    public static Protocol.RaftMessage ToWire(Message m)
    {
        var wire = new Protocol.RaftMessage
        {
            Type = (Protocol.RaftMessageType)(int)m.Type,
            From = m.From,
            To = m.To,
            Term = m.Term,
            LogTerm = m.LogTerm,
            Index = m.Index,
            Commit = m.Commit,
            Reject = m.Reject,
            RejectHint = m.RejectHint,
        };
        if (m.Context != 0)
        {
            var context = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(context, m.Context);
            wire.Context = ByteString.CopyFrom(context);
        }
        foreach (var e in m.Entries)
            wire.Entries.Add(new Protocol.Entry { Term = e.Term, Index = e.Index, Type = (uint)e.Type, Data = UnsafeByteOperations.UnsafeWrap(e.Data) });
        if (m.Snapshot is { } s)
            wire.Snapshot = ToWire(s);
        return wire;
    }

    /// <summary>Maps a received message; malformed content is a protocol error for that connection.</summary>
    public static Message FromWire(Protocol.RaftMessage wire)
    {
        if (wire.Type is <= Protocol.RaftMessageType.Unspecified or > Protocol.RaftMessageType.TransferLeader)
            throw new RaftSqlException(RaftSqlErrorCode.ProtocolError, $"Unknown Raft message type {(int)wire.Type}.");
        var context = wire.Context.Length switch
        {
            0 => 0UL,
            8 => BinaryPrimitives.ReadUInt64LittleEndian(wire.Context.Span),
            _ => throw new RaftSqlException(RaftSqlErrorCode.ProtocolError, "Raft message context must be 8 bytes."),
        };
        var entries = new Entry[wire.Entries.Count];
        for (var i = 0; i < entries.Length; i++)
        {
            var e = wire.Entries[i];
            if (e.Type > (uint)EntryType.ConfChange)
                throw new RaftSqlException(RaftSqlErrorCode.ProtocolError, $"Unknown entry type {e.Type}.");
            entries[i] = new Entry(e.Term, e.Index, (EntryType)e.Type, e.Data.Memory);
        }
        return new Message
        {
            Type = (MessageType)(int)wire.Type,
            From = wire.From,
            To = wire.To,
            Term = wire.Term,
            LogTerm = wire.LogTerm,
            Index = wire.Index,
            Commit = wire.Commit,
            Reject = wire.Reject,
            RejectHint = wire.RejectHint,
            Context = context,
            Entries = entries,
            Snapshot = wire.Snapshot is { } s ? FromWire(s) : null,
        };
    }

    public static Protocol.SnapshotMetadata ToWire(SnapshotMetadata s)
    {
        var wire = new Protocol.SnapshotMetadata { Index = s.Index, Term = s.Term };
        wire.Members.AddRange(s.Membership.Members.Select(ToWire));
        return wire;
    }

    public static SnapshotMetadata FromWire(Protocol.SnapshotMetadata wire) =>
        new(wire.Index, wire.Term, new Membership(wire.Members.Select(FromWire)));

    public static Protocol.Member ToWire(Member m) =>
        new() { Id = m.Id, Address = m.Address, Role = ToWire(ToNodeRole(m.Role)) };

    public static Member FromWire(Protocol.Member m) => new(m.Id, ToMemberRole(FromWire(m.Role)), m.Address);

    public static Protocol.NodeRole ToWire(NodeRole role) => role switch
    {
        NodeRole.Voter => Protocol.NodeRole.Voter,
        NodeRole.Standby => Protocol.NodeRole.Standby,
        NodeRole.Spare => Protocol.NodeRole.Spare,
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };

    public static NodeRole FromWire(Protocol.NodeRole role) => role switch
    {
        Protocol.NodeRole.Voter => NodeRole.Voter,
        Protocol.NodeRole.Standby => NodeRole.Standby,
        Protocol.NodeRole.Spare => NodeRole.Spare,
        _ => throw new RaftSqlException(RaftSqlErrorCode.ProtocolError, $"Unknown node role {(int)role}."),
    };

    public static NodeRole ToNodeRole(MemberRole role) => role switch
    {
        MemberRole.Voter => NodeRole.Voter,
        MemberRole.Standby => NodeRole.Standby,
        _ => NodeRole.Spare,
    };

    public static MemberRole ToMemberRole(NodeRole role) => role switch
    {
        NodeRole.Voter => MemberRole.Voter,
        NodeRole.Standby => MemberRole.Standby,
        _ => MemberRole.Spare,
    };

    public static Protocol.NodeInfo ToWire(NodeInfo node, bool isLeader) =>
        new() { Id = node.Id, Address = node.Address, Role = ToWire(node.Role), IsLeader = isLeader };

    public static NodeInfo FromWire(Protocol.NodeInfo node) => new(node.Id, node.Address, FromWire(node.Role));

    public static Protocol.ReadConsistency ToWire(ReadConsistency consistency) => consistency switch
    {
        ReadConsistency.Local => Protocol.ReadConsistency.Local,
        ReadConsistency.Lease => Protocol.ReadConsistency.Lease,
        ReadConsistency.Linearizable => Protocol.ReadConsistency.Linearizable,
        _ => Protocol.ReadConsistency.Session,
    };

    public static ReadConsistency FromWire(Protocol.ReadConsistency consistency) => consistency switch
    {
        Protocol.ReadConsistency.Local => ReadConsistency.Local,
        Protocol.ReadConsistency.Lease => ReadConsistency.Lease,
        Protocol.ReadConsistency.Linearizable => ReadConsistency.Linearizable,
        _ => ReadConsistency.Session,
    };

    /// <summary>The error to raise for a response that is not the expected kind.</summary>
    public static RaftSqlException Unexpected(Protocol.ClientResponse response) =>
        response.ResponseCase == Protocol.ClientResponse.ResponseOneofCase.Error
            ? Transport.ClientErrors.ToException(response.Error)
            : new RaftSqlException(RaftSqlErrorCode.ProtocolError, $"Unexpected response {response.ResponseCase}.");
}
