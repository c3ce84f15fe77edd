using RaftSql.Data.Tests.Infrastructure;

namespace RaftSql.Data.Tests;

/// <summary>Leaders stop under a connection that lists every node.</summary>
public sealed class FailoverTests : IAsyncLifetime
{
    private const string Database = "failover.db";
    private LocalCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await LocalCluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private static async Task<object?> Execute(RaftSqlConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    [Fact]
    public async Task The_next_command_succeeds_once_a_new_leader_exists()
    {
        await using var connection = new RaftSqlConnection(_cluster.ConnectionString(Database));
        await connection.OpenAsync();
        await Execute(connection, "CREATE TABLE t(x); INSERT INTO t VALUES (1)");

        Node leader = await _cluster.WaitForLeaderAsync();
        await _cluster.StopNodeAsync(leader.Id);
        await _cluster.WaitForLeaderAsync();

        await Execute(connection, "INSERT INTO t VALUES (2)");
        Assert.Equal(2L, await Execute(connection, "SELECT count(*) FROM t"));
    }

    [Fact]
    public async Task Commands_in_flight_when_the_leader_stops_succeed_or_say_their_outcome_is_unknown()
    {
        await using (var setup = new RaftSqlConnection(_cluster.ConnectionString(Database)))
        {
            await setup.OpenAsync();
            await Execute(setup, "CREATE TABLE w(id INTEGER PRIMARY KEY, writer INTEGER)");
        }
        Node leader = await _cluster.WaitForLeaderAsync();
        int succeeded = 0, unknown = 0;
        using var stop = new CancellationTokenSource();

        async Task WriteLoop(int writer)
        {
            await using var connection = new RaftSqlConnection(_cluster.ConnectionString(Database));
            await connection.OpenAsync();
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await Execute(connection, $"INSERT INTO w(writer) VALUES ({writer})");
                    Interlocked.Increment(ref succeeded);
                }
                catch (RaftSqlException ex) when (ex.Code is RaftSqlErrorCode.OutcomeUnknown or RaftSqlErrorCode.NoLeader)
                {
                    Interlocked.Increment(ref unknown);
                }
            }
        }

        Task[] writers = [.. Enumerable.Range(0, 4).Select(i => Task.Run(() => WriteLoop(i)))];
        await Eventually.TrueAsync(() => Volatile.Read(ref succeeded) >= 20, "writes before the stop");
        await _cluster.StopNodeAsync(leader.Id);
        await _cluster.WaitForLeaderAsync();
        int before = Volatile.Read(ref succeeded);
        await Eventually.TrueAsync(() => Volatile.Read(ref succeeded) >= before + 20, "writes after the failover");
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        await using var check = new RaftSqlConnection(_cluster.ConnectionString(Database, ReadConsistency.Linearizable));
        await check.OpenAsync();
        long rows = (long)(await Execute(check, "SELECT count(*) FROM w"))!;
        // Every acknowledged write is there; an unknown outcome may or may not have landed.
        Assert.InRange(rows, succeeded, succeeded + unknown);
    }
}
