using RaftSql.Data.Tests.Infrastructure;

namespace RaftSql.Data.Tests;

/// <summary>The four read consistency levels, against a cluster of their own (one test partitions it).</summary>
public sealed class ConsistencyTests : IAsyncLifetime
{
    private const string Database = "consistency.db";
    private LocalCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _cluster = await LocalCluster.StartAsync();
        await using var connection = new RaftSqlConnection(_cluster.ConnectionString(Database));
        await connection.OpenAsync();
        await Execute(connection, "CREATE TABLE counter(id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO counter VALUES (1, 0)");
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private static async Task<object?> Execute(RaftSqlConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    private RaftSqlConnection Connect(Node node, ReadConsistency consistency) =>
        new($"Nodes={node.Address};Database={Database};Read Consistency={consistency}");

    [Fact]
    public async Task Session_reads_its_own_writes_through_a_follower()
    {
        Node follower = _cluster.AFollower();
        await using var remote = Connect(follower, ReadConsistency.Session);
        await using var inProcess = follower.CreateConnection(Database);
        foreach (RaftSqlConnection connection in new[] { remote, inProcess })
        {
            await connection.OpenAsync();
            for (int i = 0; i < 20; i++)
            {
                long written = Random.Shared.NextInt64();
                await Execute(connection, $"UPDATE counter SET n = {written} WHERE id = 1");
                Assert.Equal(written, await Execute(connection, "SELECT n FROM counter WHERE id = 1"));
            }
        }
    }

    [Fact]
    public async Task Linearizable_read_on_one_node_sees_a_write_acknowledged_on_another()
    {
        Node leader = await _cluster.WaitForLeaderAsync();
        Node follower = _cluster.AFollower();
        await using var writer = Connect(leader, ReadConsistency.Session);
        await using var remoteReader = Connect(follower, ReadConsistency.Linearizable);
        await using var localReader = follower.CreateConnection(Database, ReadConsistency.Linearizable);
        await writer.OpenAsync();
        await remoteReader.OpenAsync();
        await localReader.OpenAsync();
        for (int i = 0; i < 20; i++)
        {
            await Execute(writer, $"UPDATE counter SET n = {1000 + i} WHERE id = 1");
            Assert.Equal(1000L + i, await Execute(remoteReader, "SELECT n FROM counter WHERE id = 1"));
            Assert.Equal(1000L + i, await Execute(localReader, "SELECT n FROM counter WHERE id = 1"));
        }
    }

    [Fact]
    public async Task Lease_read_on_the_leader_sees_acknowledged_writes()
    {
        Node leader = await _cluster.WaitForLeaderAsync();
        await using var writer = Connect(_cluster.AFollower(), ReadConsistency.Session);
        await using var reader = leader.CreateConnection(Database, ReadConsistency.Lease);
        await writer.OpenAsync();
        await reader.OpenAsync();
        for (int i = 0; i < 20; i++)
        {
            await Execute(writer, $"UPDATE counter SET n = {2000 + i} WHERE id = 1");
            Assert.Equal(2000L + i, await Execute(reader, "SELECT n FROM counter WHERE id = 1"));
        }
    }

    [Fact]
    public async Task Local_read_on_a_cut_off_follower_still_answers_while_writes_are_refused()
    {
        Node follower = _cluster.AFollower();
        await using var connection = follower.CreateConnection(Database, ReadConsistency.Local);
        await connection.OpenAsync();
        await Execute(connection, "UPDATE counter SET n = 77 WHERE id = 1");

        _cluster.Faults.Partition([follower.Id], _cluster.Running.Where(n => n.Id != follower.Id).Select(n => n.Id).ToList());
        await Eventually.TrueAsync(() => follower.LeaderId is null, "the follower to lose its leader");

        Assert.Equal(77L, await Execute(connection, "SELECT n FROM counter WHERE id = 1"));
        var refused = await Assert.ThrowsAsync<RaftSqlException>(() => Execute(connection, "UPDATE counter SET n = 78 WHERE id = 1"));
        Assert.Equal(RaftSqlErrorCode.NoLeader, refused.Code);
        _cluster.Faults.Heal();
    }

    [Fact]
    public async Task A_restarted_node_reads_in_process_nothing_older_than_it_read_before_its_stop()
    {
        Node leader = await _cluster.WaitForLeaderAsync();
        Node follower = _cluster.AFollower();
        ulong id = follower.Id;
        for (int cycle = 0; cycle < 3; cycle++)
        {
            // A burst the follower stops right after: its durable record lags, so it restarts behind and replays.
            for (int i = 0; i < 150; i++)
                await leader.ExecuteAsync(Database, "UPDATE counter SET n = n + 1 WHERE id = 1");
            ulong target = leader.AppliedIndex;
            await Eventually.TrueAsync(() => follower.AppliedIndex >= target, "the follower to apply the burst");
            long highest;
            await using (RaftSqlConnection before = follower.CreateConnection(Database, ReadConsistency.Local))
            {
                await before.OpenAsync();
                highest = (long)(await Execute(before, "SELECT n FROM counter WHERE id = 1"))!;
            }
            await _cluster.StopNodeAsync(id);

            // Local reads on the node's own files from the moment it is back until it has caught up, and a little longer.
            follower = await _cluster.StartNodeAsync(id);
            await using RaftSqlConnection reader = follower.CreateConnection(Database, ReadConsistency.Local);
            await reader.OpenAsync();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            TimeSpan? caughtUp = null;
            while (caughtUp is null || clock.Elapsed < caughtUp + TimeSpan.FromMilliseconds(300))
            {
                long value = (long)(await Execute(reader, "SELECT n FROM counter WHERE id = 1"))!;
                Assert.True(value >= highest, $"cycle {cycle}: read {value} after {highest} had been read on node {id}");
                highest = value;
                if (caughtUp is null && follower.AppliedIndex >= target)
                    caughtUp = clock.Elapsed;
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "the restarted node did not catch up in 60 s");
            }
        }
    }
}
