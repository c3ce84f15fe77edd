using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using RaftSql.Protocol;
using RaftSql.Transport;

namespace RaftSql.Tests.Transport;

/// <summary>
/// A transport server on 127.0.0.1 with test handlers. Client protocol (through ClientRequestLoop): an
/// Execute request whose SQL is a number is answered with that number as rows_affected; SQL "never" is
/// never answered; SQL "close" ends the connection. Peer protocol: received
/// envelopes are collected in <see cref="PeerMessages"/>.
/// </summary>
internal sealed class TestServer : IAsyncDisposable
{
    public const ulong NodeId = 42;

    private TestServer(TransportServer server, CapturingLoggerFactory logs)
    {
        Server = server;
        Logs = logs;
    }

    public TransportServer Server { get; }

    public CapturingLoggerFactory Logs { get; }

    public Channel<(ulong SenderId, PeerEnvelope Envelope)> PeerMessages { get; } =
        Channel.CreateUnbounded<(ulong, PeerEnvelope)>();

    public string Address => $"127.0.0.1:{Server.LocalEndPoint.Port}";

    public static TestServer Start(int port = 0, TransportOptions? options = null)
    {
        var logs = new CapturingLoggerFactory();
        var server = new TransportServer(new IPEndPoint(IPAddress.Loopback, port), NodeId, options, logs);
        var test = new TestServer(server, logs);
        server.Register(ProtocolKind.Client, ServeClientAsync);
        server.Register(ProtocolKind.Peer, test.ServePeerAsync);
        server.Start();
        return test;
    }

    public static ClientRequest Execute(string sql) => new() { Execute = new ExecuteRequest { Sql = sql } };

    public ValueTask DisposeAsync() => Server.DisposeAsync();

    private async Task ServePeerAsync(Connection connection, CancellationToken stopping)
    {
        while (await connection.ReceiveAsync(PeerEnvelope.Parser, stopping) is { } envelope)
        {
            await PeerMessages.Writer.WriteAsync((connection.RemoteNodeId, envelope), stopping);
        }
    }

    private static Task ServeClientAsync(Connection connection, CancellationToken stopping) =>
        ClientRequestLoop.ServeAsync(connection, async (request, cancellationToken) =>
        {
            switch (request.Execute?.Sql)
            {
                case "close":
                    connection.Abort();
                    break;
                case "never":
                    break;
                default:
                    return new ClientResponse
                    {
                        ExecuteResult = new ExecuteResult { RowsAffected = long.Parse(request.Execute!.Sql, CultureInfo.InvariantCulture) },
                    };
            }

            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new UnreachableException();
        }, NullLogger.Instance, stopping);
}
