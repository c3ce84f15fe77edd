using RaftSql.Protocol;
using RaftSql.Transport;

namespace RaftSql.Tests.Transport;

public class PeerSenderTests
{
    private const ulong LocalId = 1;

    private static readonly PeerSenderOptions FastRetry = new()
    {
        InitialReconnectDelay = TimeSpan.FromMilliseconds(10),
        MaxReconnectDelay = TimeSpan.FromMilliseconds(200),
    };

    [Fact]
    public async Task Messages_arrive_in_order_over_one_connection()
    {
        await using TestServer server = TestServer.Start();
        await using var sender = new PeerSender(LocalId, TestServer.NodeId, server.Address, FastRetry);

        for (ulong i = 1; i <= 500; i++)
        {
            Assert.True(sender.TrySend(Heartbeat(i)));
        }

        for (ulong i = 1; i <= 500; i++)
        {
            (ulong senderId, PeerEnvelope envelope) = await ReadAsync(server);
            Assert.Equal(LocalId, senderId);
            Assert.Equal(i, envelope.Raft.Commit);
        }

        Assert.Equal(1, server.Server.ConnectionCount);
        Assert.Equal(500, sender.SentCount);
    }

    [Fact]
    public async Task The_sender_reconnects_after_the_peer_restarts()
    {
        TestServer first = TestServer.Start();
        int port = first.Server.LocalEndPoint.Port;
        await using var sender = new PeerSender(LocalId, TestServer.NodeId, first.Address, FastRetry);
        sender.TrySend(Heartbeat(1));
        Assert.Equal(1UL, (await ReadAsync(first)).Envelope.Raft.Commit);

        await first.DisposeAsync();
        await using TestServer second = TestServer.Start(port);

        // Messages written into the dying connection are lost (Raft resends); keep sending until one lands.
        ulong next = 2;
        await Eventually.TrueAsync(() =>
        {
            sender.TrySend(Heartbeat(next++));
            return second.PeerMessages.Reader.TryRead(out _);
        }, "the restarted peer receives a message");
        Assert.True(sender.IsConnected);
    }

    [Fact]
    public async Task A_full_queue_drops_the_oldest_messages_instead_of_blocking()
    {
        var options = FastRetry with { QueueCapacity = 16 };
        await using var sender = new PeerSender(LocalId, 2, $"127.0.0.1:{ClientConnectionTests.UnusedPort()}", options);

        for (ulong i = 0; i < 1_000; i++)
        {
            Assert.True(sender.TrySend(Heartbeat(i)));
        }

        // Nothing leaves the queue without a connection, so exactly the overflow was dropped.
        Assert.Equal(1_000 - 16, sender.QueueDropCount);
        Assert.Equal(0, sender.SentCount);
        Assert.False(sender.IsConnected);
    }

    [Fact]
    public async Task Queued_messages_are_delivered_once_the_peer_comes_up()
    {
        int port = ClientConnectionTests.UnusedPort();
        await using var sender = new PeerSender(LocalId, TestServer.NodeId, $"127.0.0.1:{port}", FastRetry);
        sender.TrySend(Heartbeat(1));
        sender.TrySend(Heartbeat(2));

        await using TestServer server = TestServer.Start(port);

        Assert.Equal(1UL, (await ReadAsync(server)).Envelope.Raft.Commit);
        Assert.Equal(2UL, (await ReadAsync(server)).Envelope.Raft.Commit);
    }

    [Fact]
    public async Task An_oversized_message_is_dropped_alone()
    {
        await using TestServer server = TestServer.Start();
        var options = FastRetry with { Transport = new TransportOptions { MaxMessageSize = 64 } };
        await using var sender = new PeerSender(LocalId, TestServer.NodeId, server.Address, options);
        var oversized = new PeerEnvelope { SnapshotChunk = new SnapshotChunk { Data = Google.Protobuf.ByteString.CopyFrom(new byte[100]) } };

        sender.TrySend(Heartbeat(1));
        sender.TrySend(oversized);
        sender.TrySend(Heartbeat(2));

        Assert.Equal(1UL, (await ReadAsync(server)).Envelope.Raft.Commit);
        Assert.Equal(2UL, (await ReadAsync(server)).Envelope.Raft.Commit);
        Assert.Equal(1, sender.LostCount);
    }

    [Fact]
    public async Task A_partition_drops_messages_and_healing_lets_new_ones_through()
    {
        await using TestServer server = TestServer.Start();
        var faults = new FaultInjector();
        await using var sender = new PeerSender(LocalId, TestServer.NodeId, server.Address, FastRetry, faults);
        faults.Partition([LocalId], [TestServer.NodeId]);

        for (ulong i = 1; i <= 10; i++)
        {
            Assert.False(sender.TrySend(Heartbeat(i)));
        }

        faults.Heal();
        Assert.True(sender.TrySend(Heartbeat(100)));

        // The first message to arrive is the one sent after healing: none of the partitioned ones got through.
        Assert.Equal(100UL, (await ReadAsync(server)).Envelope.Raft.Commit);
        Assert.Equal(10, sender.FaultDropCount);
    }

    [Fact]
    public async Task Injected_delay_keeps_the_order_of_messages()
    {
        await using TestServer server = TestServer.Start();
        var faults = new FaultInjector(seed: 3);
        faults.SetDelay(TimeSpan.Zero, TimeSpan.FromMilliseconds(20));
        await using var sender = new PeerSender(LocalId, TestServer.NodeId, server.Address, FastRetry, faults);

        for (ulong i = 1; i <= 50; i++)
        {
            sender.TrySend(Heartbeat(i));
        }

        for (ulong i = 1; i <= 50; i++)
        {
            Assert.Equal(i, (await ReadAsync(server)).Envelope.Raft.Commit);
        }
    }

    private static PeerEnvelope Heartbeat(ulong commit) => new()
    {
        Raft = new RaftMessage { Type = RaftMessageType.Heartbeat, From = LocalId, To = TestServer.NodeId, Term = 1, Commit = commit },
    };

    private static async Task<(ulong SenderId, PeerEnvelope Envelope)> ReadAsync(TestServer server)
    {
        using var patience = new CancellationTokenSource(Eventually.Patience);
        return await server.PeerMessages.Reader.ReadAsync(patience.Token);
    }
}
