using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using RaftSql.Protocol;
using RaftSql.Transport;

namespace RaftSql.Tests.Transport;

public class ClientRequestLoopTests
{
    [Fact]
    public async Task A_slow_request_does_not_hold_up_the_ones_behind_it()
    {
        var released = new TaskCompletionSource<ClientResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TransportServer server = Start((request, _) =>
        {
            if (request.Execute.Sql == "wait")
            {
                return released.Task;
            }

            released.TrySetResult(new ClientResponse { ExecuteResult = new ExecuteResult { RowsAffected = 1 } });
            return Task.FromResult(new ClientResponse { ExecuteResult = new ExecuteResult { RowsAffected = 2 } });
        });
        await using ClientConnection client = await ConnectAsync(server);

        Task<ClientResponse> waiting = client.SendAsync(TestServer.Execute("wait"));
        ClientResponse releasing = await client.SendAsync(TestServer.Execute("release"));

        Assert.Equal(2, releasing.ExecuteResult.RowsAffected);
        Assert.Equal(1, (await waiting).ExecuteResult.RowsAffected);
    }

    [Fact]
    public async Task A_RaftSqlException_becomes_an_error_answer_with_its_code()
    {
        await using TransportServer server = Start((_, _) =>
            throw new RaftSqlException(RaftSqlErrorCode.UnknownDatabase, "no database named x"));
        await using ClientConnection client = await ConnectAsync(server);

        ClientResponse response = await client.SendAsync(TestServer.Execute("1"));

        var error = Assert.Throws<RaftSqlException>(() => response.ThrowIfError());
        Assert.Equal(RaftSqlErrorCode.UnknownDatabase, error.Code);
        // The connection stays usable after an error answer.
        Assert.Equal(ClientResponse.ResponseOneofCase.Error, (await client.SendAsync(TestServer.Execute("2"))).ResponseCase);
    }

    [Fact]
    public async Task A_handler_bug_closes_the_connection_instead_of_leaving_the_client_waiting()
    {
        await using TransportServer server = Start((request, _) => request.Execute.Sql == "bug"
            ? throw new InvalidOperationException("bug")
            : Task.FromResult(new ClientResponse { Ack = new Ack() }));

        await using (ClientConnection client = await ConnectAsync(server))
        {
            var error = await Assert.ThrowsAsync<RaftSqlException>(() => client.SendAsync(TestServer.Execute("bug")));
            Assert.Equal(RaftSqlErrorCode.Unavailable, error.Code);
        }

        await using ClientConnection fresh = await ConnectAsync(server);
        Assert.Equal(ClientResponse.ResponseOneofCase.Ack, (await fresh.SendAsync(TestServer.Execute("ok"))).ResponseCase);
    }

    [Fact]
    public async Task Running_requests_are_cancelled_when_their_client_goes_away()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TransportServer server = Start(async (_, cancellationToken) =>
        {
            using CancellationTokenRegistration registration = cancellationToken.Register(() => cancelled.TrySetResult());
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return new ClientResponse();
        });
        ClientConnection client = await ConnectAsync(server);
        _ = client.SendAsync(TestServer.Execute("x"));
        await started.Task.WaitAsync(Eventually.Patience);

        await client.DisposeAsync();

        await cancelled.Task.WaitAsync(Eventually.Patience);
    }

    [Fact]
    public async Task No_more_than_the_allowed_number_of_requests_run_at_once()
    {
        const int limit = 2;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int started = 0;
        int running = 0;
        int mostRunning = 0;
        await using TransportServer server = Start(async (_, _) =>
        {
            Interlocked.Increment(ref started);
            int now = Interlocked.Increment(ref running);
            InterlockedMax(ref mostRunning, now);
            await gate.Task;
            Interlocked.Decrement(ref running);
            return new ClientResponse { Ack = new Ack() };
        }, limit);
        await using ClientConnection client = await ConnectAsync(server);

        Task<ClientResponse>[] requests = [.. Enumerable.Range(0, 10).Select(i => client.SendAsync(TestServer.Execute("x")))];
        await Eventually.TrueAsync(() => Volatile.Read(ref started) == limit, "the first requests run");
        // No slot frees before the gate opens, so nobody else can have started.
        Assert.Equal(limit, Volatile.Read(ref started));

        gate.SetResult();
        await Task.WhenAll(requests);
        Assert.Equal(10, started);
        Assert.Equal(limit, mostRunning);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    private static TransportServer Start(ClientRequestHandler handler, int maxConcurrentRequests = ClientRequestLoop.DefaultMaxConcurrentRequests)
    {
        var server = new TransportServer(new IPEndPoint(IPAddress.Loopback, 0), nodeId: 1);
        server.Register(ProtocolKind.Client, (connection, stopping) =>
            ClientRequestLoop.ServeAsync(connection, handler, NullLogger.Instance, stopping, maxConcurrentRequests));
        server.Start();
        return server;
    }

    private static Task<ClientConnection> ConnectAsync(TransportServer server) =>
        ClientConnection.ConnectAsync($"127.0.0.1:{server.LocalEndPoint.Port}");
}
