using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using RaftSql.Protocol;
using RaftSql.Transport;
using Xunit.Abstractions;

namespace RaftSql.Tests.Transport;

public class ClientConnectionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Concurrent_requests_on_one_connection_each_get_their_own_answer()
    {
        await using TestServer server = TestServer.Start();
        await using ClientConnection client = await ClientConnection.ConnectAsync(server.Address);
        const int workers = 32;
        const int requestsPerWorker = 300;

        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(worker => Task.Run(async () =>
        {
            for (int i = 0; i < requestsPerWorker; i++)
            {
                long value = (worker * requestsPerWorker) + i;
                ClientResponse response = await client.SendAsync(TestServer.Execute(value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                Assert.Equal(value, response.ExecuteResult.RowsAffected);
            }
        })));

        output.WriteLine($"{workers} concurrent requesters: {workers * requestsPerWorker / watch.Elapsed.TotalSeconds:0} round trips/s");
    }

    [Fact]
    public async Task Sequential_requests_on_one_connection_each_get_their_own_answer()
    {
        await using TestServer server = TestServer.Start();
        await using ClientConnection client = await ClientConnection.ConnectAsync(server.Address);
        const int requests = 3000;

        var watch = Stopwatch.StartNew();
        for (int i = 0; i < requests; i++)
        {
            ClientResponse response = await client.SendAsync(TestServer.Execute(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.Equal(i, response.ExecuteResult.RowsAffected);
        }

        output.WriteLine($"one requester: {requests / watch.Elapsed.TotalSeconds:0} round trips/s");
    }

    [Fact]
    public async Task An_unanswered_request_times_out_and_the_connection_stays_usable()
    {
        await using TestServer server = TestServer.Start();
        await using ClientConnection client = await ClientConnection.ConnectAsync(server.Address);

        var error = await Assert.ThrowsAsync<RaftSqlException>(
            () => client.SendAsync(TestServer.Execute("never"), TimeSpan.FromMilliseconds(100), CancellationToken.None));

        Assert.Equal(RaftSqlErrorCode.Timeout, error.Code);
        Assert.True(error.IsTransient);
        Assert.Equal(3, (await client.SendAsync(TestServer.Execute("3"))).ExecuteResult.RowsAffected);
    }

    [Fact]
    public async Task Cancelling_a_request_throws_operation_canceled()
    {
        await using TestServer server = TestServer.Start();
        await using ClientConnection client = await ClientConnection.ConnectAsync(server.Address);
        using var cancellation = new CancellationTokenSource();

        Task<ClientResponse> pending = client.SendAsync(TestServer.Execute("never"), cancellation.Token);
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        Assert.True(client.IsOpen);
    }

    [Fact]
    public async Task Losing_the_connection_fails_pending_and_later_requests_as_unavailable()
    {
        await using TestServer server = TestServer.Start();
        await using ClientConnection client = await ClientConnection.ConnectAsync(server.Address);
        Task<ClientResponse>[] pending = [.. Enumerable.Range(0, 5).Select(_ => client.SendAsync(TestServer.Execute("never")))];

        // The server ends the connection on "close"; the request itself is never answered.
        Task<ClientResponse> closing = client.SendAsync(TestServer.Execute("close"));

        foreach (Task<ClientResponse> request in pending.Append(closing))
        {
            var error = await Assert.ThrowsAsync<RaftSqlException>(() => request);
            Assert.Equal(RaftSqlErrorCode.Unavailable, error.Code);
        }

        Assert.False(client.IsOpen);
        var later = await Assert.ThrowsAsync<RaftSqlException>(() => client.SendAsync(TestServer.Execute("1")));
        Assert.Equal(RaftSqlErrorCode.Unavailable, later.Code);
    }

    [Fact]
    public async Task Connecting_to_a_port_nobody_listens_on_is_unavailable()
    {
        var error = await Assert.ThrowsAsync<RaftSqlException>(() => ClientConnection.ConnectAsync($"127.0.0.1:{UnusedPort()}"));

        Assert.Equal(RaftSqlErrorCode.Unavailable, error.Code);
    }

    [Fact]
    public async Task An_oversized_response_closes_the_connection_and_fails_the_request()
    {
        // The request (8 bytes) fits the client's limit of 12 bytes; the answer, -1 as a 10-byte varint, does not.
        await using TestServer server = TestServer.Start();
        var options = new ClientConnectionOptions { Transport = new TransportOptions { MaxMessageSize = 12 } };
        await using ClientConnection client = await ClientConnection.ConnectAsync(server.Address, options);

        var error = await Assert.ThrowsAsync<RaftSqlException>(() => client.SendAsync(TestServer.Execute("-1")));

        Assert.Equal(RaftSqlErrorCode.Unavailable, error.Code);
        Assert.False(client.IsOpen);
    }

    [Fact]
    public async Task An_oversized_request_fails_alone_and_the_connection_stays_usable()
    {
        await using TestServer server = TestServer.Start();
        var options = new ClientConnectionOptions { Transport = new TransportOptions { MaxMessageSize = 64 } };
        await using ClientConnection client = await ClientConnection.ConnectAsync(server.Address, options);

        var error = await Assert.ThrowsAsync<RaftSqlException>(() => client.SendAsync(TestServer.Execute(new string('9', 100))));

        Assert.Equal(RaftSqlErrorCode.MessageTooLarge, error.Code);
        Assert.Equal(4, (await client.SendAsync(TestServer.Execute("4"))).ExecuteResult.RowsAffected);
    }

    [Fact]
    public async Task Injected_faults_drop_requests_between_blocked_nodes()
    {
        await using TestServer server = TestServer.Start();
        var faults = new FaultInjector();
        var options = new ClientConnectionOptions { LocalNodeId = 1, Faults = faults };
        await using ClientConnection client = await ClientConnection.ConnectAsync(server.Address, options);

        faults.Block(1, TestServer.NodeId);
        var error = await Assert.ThrowsAsync<RaftSqlException>(
            () => client.SendAsync(TestServer.Execute("1"), TimeSpan.FromMilliseconds(100), CancellationToken.None));
        Assert.Equal(RaftSqlErrorCode.Timeout, error.Code);

        faults.Heal();
        Assert.Equal(2, (await client.SendAsync(TestServer.Execute("2"))).ExecuteResult.RowsAffected);
    }

    internal static int UnusedPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
