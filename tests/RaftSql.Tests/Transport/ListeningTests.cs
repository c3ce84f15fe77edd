using System.Net;
using RaftSql.Transport;

namespace RaftSql.Tests.Transport;

/// <summary>A port belongs to one server: a second one is refused, a successor binds it as soon as the first stops.</summary>
public class ListeningTests
{
    [Fact]
    public async Task A_second_server_on_a_port_in_use_fails_with_AddressInUse_and_the_first_keeps_every_connection()
    {
        await using TestServer first = TestServer.Start();
        var endPoint = new IPEndPoint(IPAddress.Loopback, first.Server.LocalEndPoint.Port);
        await using var second = new TransportServer(endPoint, nodeId: 7);
        second.Register(ProtocolKind.Client, (_, _) => Task.CompletedTask);

        var error = Assert.Throws<RaftSqlException>(second.Start);

        Assert.Equal(RaftSqlErrorCode.AddressInUse, error.Code);
        Assert.Contains(endPoint.ToString(), error.Message, StringComparison.Ordinal);
        for (int i = 0; i < 20; i++)
        {
            await using ClientConnection client = await ClientConnection.ConnectAsync(first.Address);
            Assert.Equal(TestServer.NodeId, client.ServerNodeId);
        }
    }

    [Fact]
    public async Task A_stopped_server_s_port_can_be_bound_again_at_once_while_its_closed_connections_linger()
    {
        TestServer first = TestServer.Start();
        int port = first.Server.LocalEndPoint.Port;
        using (RawClient raw = await RawClient.ConnectAsync(first.Server.LocalEndPoint))
        {
            // A refused handshake: the server closes first and cleanly, so its end lingers in TIME_WAIT on the port.
            await raw.SendAsync(RawClient.Hello(ProtocolKind.Client, version: 999));
            await raw.ReadUntilClosedAsync();
        }

        await first.DisposeAsync();

        await using TestServer second = TestServer.Start(port);
        await using ClientConnection again = await ClientConnection.ConnectAsync(second.Address);
        Assert.Equal(5, (await again.SendAsync(TestServer.Execute("5"))).ExecuteResult.RowsAffected);
    }
}
