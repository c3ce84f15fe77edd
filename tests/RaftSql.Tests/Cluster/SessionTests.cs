using System.Net.Sockets;
using RaftSql.Gateway;
using RaftSql.Protocol;

namespace RaftSql.Tests.Cluster;

/// <summary>The client protocol's statement routing, result sets and interactive transactions.</summary>
[Collection(ClusterTests.Collection)]
public sealed class SessionTests
{
    private static ClientRequest Query(string sql, bool allowWrite = true, ulong transaction = 0) =>
        new() { Query = new QueryRequest { Database = "app.db", Sql = sql, AllowWrite = allowWrite, TransactionId = transaction, Consistency = Protocol.ReadConsistency.Linearizable } };

    private static async Task<RowPage> PageAsync(ClientSession session, ClientRequest request)
    {
        var response = await session.HandleAsync(request, CancellationToken.None);
        Assert.True(response.ResponseCase == ClientResponse.ResponseOneofCase.RowPage, response.ToString());
        return response.RowPage;
    }

    [Fact]
    public async Task Writing_statements_sent_to_a_follower_run_on_the_leader_and_return_their_rows()
    {
        await using var cluster = await LocalCluster.StartAsync(3);
        var leader = await cluster.WaitForLeaderAsync();
        await leader.ExecuteAsync("app.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
        var follower = cluster.Running.First(n => n.Id != leader.Id);
        await using var session = follower.CreateSession();

        var inserted = await PageAsync(session, Query("INSERT INTO t (v) VALUES ('a'), ('b') RETURNING id, v"));
        Assert.True(inserted.Done);
        Assert.Equal(2, inserted.Rows.Count);
        Assert.Equal(2, inserted.RowsAffected);
        Assert.True(inserted.RaftIndex > 0);

        var sets = new List<RowPage> { await PageAsync(session, Query("SELECT count(*) FROM t; SELECT v FROM t ORDER BY id")) };
        while (!sets[^1].Done)
            sets.Add(await PageAsync(session, new ClientRequest { FetchPage = new FetchPageRequest { CursorId = sets[^1].CursorId } }));
        Assert.Equal(new uint[] { 0, 1 }, sets.Where(p => p.Columns.Count > 0).Select(p => p.ResultSet));
        Assert.Equal(2L, sets[0].Rows[0].Values[0].Integer);
        Assert.Equal(["a", "b"], sets.Where(p => p.ResultSet == 1).SelectMany(p => p.Rows).Select(r => r.Values[0].Text));
    }

    [Fact]
    public async Task Interactive_transactions_commit_roll_back_and_end_with_their_session()
    {
        await using var cluster = await LocalCluster.StartAsync(3);
        var leader = await cluster.WaitForLeaderAsync();
        await leader.ExecuteAsync("app.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");

        async Task<ulong> BeginAsync(ClientSession session) =>
            (await session.HandleAsync(new ClientRequest { Begin = new BeginRequest { Database = "app.db" } }, CancellationToken.None)).TransactionStarted.TransactionId;

        await using (var session = leader.CreateSession())
        {
            var tx = await BeginAsync(session);
            await PageAsync(session, Query("INSERT INTO t (v) VALUES ('committed')", transaction: tx));
            var inside = await PageAsync(session, Query("SELECT count(*) FROM t", transaction: tx));
            Assert.Equal(1L, inside.Rows[0].Values[0].Integer);
            var commit = await session.HandleAsync(new ClientRequest { Commit = new CommitRequest { TransactionId = tx } }, CancellationToken.None);
            Assert.True(commit.CommitResult.RaftIndex > 0);

            tx = await BeginAsync(session);
            await PageAsync(session, Query("INSERT INTO t (v) VALUES ('rolled back')", transaction: tx));
            await session.HandleAsync(new ClientRequest { Rollback = new RollbackRequest { TransactionId = tx } }, CancellationToken.None);

            tx = await BeginAsync(session);
            await PageAsync(session, Query("INSERT INTO t (v) VALUES ('abandoned')", transaction: tx));
        }

        // The abandoned transaction was rolled back when its session ended: the writer is free again.
        await leader.ExecuteAsync("app.db", "INSERT INTO t (v) VALUES ('after')");
        foreach (var node in cluster.Running)
        {
            var rows = await node.QueryAsync("app.db", "SELECT v FROM t ORDER BY id", consistency: RaftSql.ReadConsistency.Linearizable);
            Assert.Equal(["committed", "after"], rows.Rows.Select(r => (string)r[0]));
        }
    }

    [Fact]
    public async Task Losing_leadership_mid_transaction_rolls_it_back_with_a_typed_error()
    {
        await using var cluster = await LocalCluster.StartAsync(3);
        var leader = await cluster.WaitForLeaderAsync();
        await leader.ExecuteAsync("app.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
        await using var session = leader.CreateSession();
        var tx = (await session.HandleAsync(new ClientRequest { Begin = new BeginRequest { Database = "app.db" } }, CancellationToken.None)).TransactionStarted.TransactionId;
        await PageAsync(session, Query("INSERT INTO t (v) VALUES ('lost')", transaction: tx));

        await using var client = cluster.Client();
        await client.TransferLeadershipAsync(cluster.Running.First(n => n.Id != leader.Id).Id);

        var commit = await session.HandleAsync(new ClientRequest { Commit = new CommitRequest { TransactionId = tx } }, CancellationToken.None);
        Assert.Equal(ClientResponse.ResponseOneofCase.Error, commit.ResponseCase);
        Assert.Equal((int)RaftSqlErrorCode.NotLeader, commit.Error.Code);
        var newLeader = await cluster.WaitForLeaderAsync();
        await newLeader.ExecuteAsync("app.db", "INSERT INTO t (v) VALUES ('new leader')");
        var rows = await newLeader.QueryAsync("app.db", "SELECT v FROM t", consistency: RaftSql.ReadConsistency.Linearizable);
        Assert.Equal(["new leader"], rows.Rows.Select(r => (string)r[0]));
    }

    [Fact]
    public async Task Garbage_on_the_node_port_closes_that_connection_and_the_node_keeps_serving()
    {
        await using var cluster = await LocalCluster.StartAsync(1);
        var node = await cluster.WaitForLeaderAsync();
        var address = RaftSql.Transport.NodeAddress.Parse(node.Address);
        foreach (var garbage in new[] { "GET / HTTP/1.1\r\n\r\n"u8.ToArray(), [(byte)'R', (byte)'S', (byte)'Q', (byte)'L', 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff] })
        {
            using var socket = new TcpClient();
            await socket.ConnectAsync(address.Host, address.Port);
            var stream = socket.GetStream();
            await stream.WriteAsync(garbage);
            var buffer = new byte[64];
            // The node answers (or not) and closes: reading reaches the end of the stream.
            while (await stream.ReadAsync(buffer) > 0)
            {
            }
        }
        await using var client = cluster.Client();
        Assert.Equal(node.Id, (await client.GetLeaderAsync())?.Id);
        await client.ExecuteAsync("app.db", "CREATE TABLE ok (x)");
    }
}
