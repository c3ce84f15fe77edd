using System.Net;
using Google.Protobuf;
using RaftSql.Protocol;
using RaftSql.Transport;

namespace RaftSql.Tests.Transport;

public class TransportServerTests
{
    private const int ProtocolViolationEvent = 3002;
    private const int HandshakeRefusedEvent = 3003;

    public static TheoryData<string> BadInputs => ["garbage", "wrong magic", "length beyond maximum",
        "truncated message", "malformed protobuf", "peer garbage frame"];

    [Fact]
    public async Task Peer_messages_round_trip_with_the_sender_id_from_the_handshake()
    {
        await using TestServer server = TestServer.Start();
        var envelope = new PeerEnvelope
        {
            Raft = new RaftMessage
            {
                Type = RaftMessageType.Snapshot, From = 7, To = TestServer.NodeId, Term = 3, Reject = true, RejectHint = 5,
                RejectHintTerm = 2, Context = ByteString.CopyFromUtf8("ctx"),
                Snapshot = new SnapshotMetadata { Index = 9, Term = 3, Members = { new Member { Id = 7, Role = NodeRole.Standby, Address = "h:1" } } },
            },
        };

        await using Connection connection = await Connection.ConnectAsync(server.Address, ProtocolKind.Peer, 7,
            new TransportOptions(), CancellationToken.None);
        await connection.SendAsync(envelope, CancellationToken.None);

        Assert.Equal(TestServer.NodeId, connection.RemoteNodeId);
        (ulong senderId, PeerEnvelope received) = await server.PeerMessages.Reader.ReadAsync();
        Assert.Equal(7UL, senderId);
        Assert.Equal(envelope, received);
    }

    [Fact]
    public async Task Client_requests_round_trip()
    {
        await using TestServer server = TestServer.Start();
        await using ClientConnection client = await ClientConnection.ConnectAsync(server.Address);

        ClientResponse response = await client.SendAsync(TestServer.Execute("17"));

        Assert.Equal(TestServer.NodeId, client.ServerNodeId);
        Assert.Equal(17, response.ExecuteResult.RowsAffected);
    }

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Bad_input_closes_that_connection_only(string badInput)
    {
        await using TestServer server = TestServer.Start();
        await using ClientConnection bystander = await ClientConnection.ConnectAsync(server.Address);
        byte[] clientHello = RawClient.Hello(ProtocolKind.Client);
        byte[][] bytes = badInput switch
        {
            "garbage" => ["GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray()],
            "wrong magic" => [[.. "XSQL"u8, .. clientHello[4..]]],
            "length beyond maximum" => [clientHello, RawClient.LengthPrefix(TransportOptions.DefaultMaxMessageSize + 1)],
            "truncated message" => [clientHello, RawClient.LengthPrefix(100), new byte[10]],
            "malformed protobuf" => [clientHello, RawClient.LengthPrefix(2), [0x00, 0x00]],
            "peer garbage frame" => [RawClient.Hello(ProtocolKind.Peer), RawClient.LengthPrefix(3), [0xFF, 0xFF, 0xFF]],
            _ => throw new ArgumentOutOfRangeException(nameof(badInput)),
        };

        using (RawClient raw = await RawClient.ConnectAsync(server.Server.LocalEndPoint))
        {
            await raw.SendAsync(bytes);
            if (badInput == "truncated message")
            {
                raw.ShutdownSend();
            }

            byte[] answer = await raw.ReadUntilClosedAsync();
            // A well-formed hello is accepted before the bad frame; a bad hello gets no answer at all.
            Assert.Equal(bytes[0][..4].SequenceEqual("RSQL"u8.ToArray()) ? Handshake.ReplySize : 0, answer.Length);
        }

        await Eventually.TrueAsync(() => server.Logs.Contains(ProtocolViolationEvent), "the violation is logged");
        await AssertStillServingAsync(server, bystander);
    }

    [Theory]
    [InlineData((byte)ProtocolKind.Client, (ushort)99, (byte)HandshakeStatus.UnsupportedVersion)]
    [InlineData((byte)7, Handshake.CurrentVersion, (byte)HandshakeStatus.UnknownKind)]
    public async Task A_refused_handshake_is_answered_then_closed(byte kind, ushort version, byte expectedStatus)
    {
        await using TestServer server = TestServer.Start();

        using (RawClient raw = await RawClient.ConnectAsync(server.Server.LocalEndPoint))
        {
            await raw.SendAsync(RawClient.Hello((ProtocolKind)kind, version));
            HandshakeReply reply = Handshake.DecodeReply(await raw.ReadUntilClosedAsync());

            Assert.Equal((HandshakeStatus)expectedStatus, reply.Status);
            Assert.Equal(Handshake.CurrentVersion, reply.Version);
            Assert.Equal(TestServer.NodeId, reply.NodeId);
        }

        Assert.True(server.Logs.Contains(HandshakeRefusedEvent));
        await using ClientConnection fresh = await ClientConnection.ConnectAsync(server.Address);
        Assert.Equal(1, (await fresh.SendAsync(TestServer.Execute("1"))).ExecuteResult.RowsAffected);
    }

    [Fact]
    public async Task A_client_with_an_unsupported_version_gets_a_protocol_error()
    {
        await using TestServer server = TestServer.Start();

        var error = await Assert.ThrowsAsync<RaftSqlException>(() => Connection.ConnectAsync(server.Address,
            ProtocolKind.Client, 0, new TransportOptions(), CancellationToken.None, version: 2));

        Assert.Equal(RaftSqlErrorCode.ProtocolError, error.Code);
    }

    [Fact]
    public async Task A_silent_connection_is_closed_after_the_handshake_timeout()
    {
        await using TestServer server = TestServer.Start(options: new TransportOptions { HandshakeTimeout = TimeSpan.FromMilliseconds(200) });

        using RawClient raw = await RawClient.ConnectAsync(server.Server.LocalEndPoint);

        Assert.Empty(await raw.ReadUntilClosedAsync());
    }

    [Fact]
    public async Task Stop_closes_connections_fails_pending_requests_and_waits_for_handlers()
    {
        TestServer server = TestServer.Start();
        await using ClientConnection client = await ClientConnection.ConnectAsync(server.Address);
        Task<ClientResponse> pending = client.SendAsync(TestServer.Execute("never"));
        await Eventually.TrueAsync(() => server.Server.ConnectionCount == 1, "the server serves the client");

        await server.DisposeAsync();

        Assert.Equal(0, server.Server.ConnectionCount);
        // The request loop answers NodeStopped when it gets to send before the socket closes.
        var error = await Assert.ThrowsAsync<RaftSqlException>(async () => (await pending).ThrowIfError());
        Assert.Contains(error.Code, new[] { RaftSqlErrorCode.NodeStopped, RaftSqlErrorCode.Unavailable });
        var refused = await Assert.ThrowsAsync<RaftSqlException>(() => ClientConnection.ConnectAsync(server.Address));
        Assert.Equal(RaftSqlErrorCode.Unavailable, refused.Code);
    }

    [Fact]
    public async Task A_failing_handler_is_logged_and_the_server_keeps_serving()
    {
        const int handlerFailedEvent = 3006;
        var logs = new CapturingLoggerFactory();
        await using var server = new TransportServer(new IPEndPoint(IPAddress.Loopback, 0), 1, loggerFactory: logs);
        int calls = 0;
        server.Register(ProtocolKind.Client, async (connection, stopping) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                throw new InvalidOperationException("handler bug");
            }

            ClientRequest? request = await connection.ReceiveAsync(ClientRequest.Parser, stopping);
            await connection.SendAsync(new ClientResponse { RequestId = request!.RequestId, Ack = new Ack() }, stopping);
        });
        server.Start();
        string address = $"127.0.0.1:{server.LocalEndPoint.Port}";

        await using (ClientConnection failing = await ClientConnection.ConnectAsync(address))
        {
            var error = await Assert.ThrowsAsync<RaftSqlException>(() => failing.SendAsync(new ClientRequest { GetLeader = new GetLeaderRequest() }));
            Assert.Equal(RaftSqlErrorCode.Unavailable, error.Code);
        }

        await using ClientConnection working = await ClientConnection.ConnectAsync(address);
        ClientResponse response = await working.SendAsync(new ClientRequest { GetLeader = new GetLeaderRequest() });
        Assert.Equal(ClientResponse.ResponseOneofCase.Ack, response.ResponseCase);
        Assert.True(logs.Contains(handlerFailedEvent));
    }

    private static async Task AssertStillServingAsync(TestServer server, ClientConnection bystander)
    {
        Assert.Equal(5, (await bystander.SendAsync(TestServer.Execute("5"))).ExecuteResult.RowsAffected);
        await using ClientConnection fresh = await ClientConnection.ConnectAsync(server.Address);
        Assert.Equal(6, (await fresh.SendAsync(TestServer.Execute("6"))).ExecuteResult.RowsAffected);
    }
}
