using RaftSql.Transport;

namespace RaftSql.Tests.Transport;

public class HandshakeTests
{
    [Fact]
    public void Hello_round_trips_and_starts_with_the_magic()
    {
        var hello = new Hello(ProtocolKind.Peer, Handshake.CurrentVersion, SenderId: 0x0102030405060708);

        byte[] bytes = Handshake.EncodeHello(hello);

        Assert.Equal("RSQL"u8.ToArray(), bytes[..4]);
        Assert.Equal(new byte[] { 1, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8 }, bytes[4..]); // kind, big-endian version and id
        Assert.Equal(hello, Handshake.DecodeHello(bytes));
    }

    [Fact]
    public void Reply_round_trips()
    {
        var reply = new HandshakeReply(HandshakeStatus.UnsupportedVersion, Handshake.CurrentVersion, NodeId: 9);

        Assert.Equal(reply, Handshake.DecodeReply(Handshake.EncodeReply(reply)));
    }

    [Fact]
    public void A_wrong_magic_is_a_protocol_error()
    {
        byte[] bytes = Handshake.EncodeHello(new Hello(ProtocolKind.Client, Handshake.CurrentVersion, 0));
        bytes[0] = (byte)'X';

        var error = Assert.Throws<RaftSqlException>(() => Handshake.DecodeHello(bytes));
        Assert.Equal(RaftSqlErrorCode.ProtocolError, error.Code);
    }
}
