using System.Diagnostics;

namespace RaftSql.Tests.Sqlite;

public class DurabilityLockTests
{
    /// <summary>A checkpoint records what is durable first; a flush of the durable records runs beside it (the host's
    /// maintenance and the engine's each run one): neither may wait for the other forever.</summary>
    [Fact]
    public async Task Checkpoints_and_durable_flushes_running_at_once_never_deadlock()
    {
        // Not disposed when the threads deadlock: disposing would wait for them too.
        var cluster = new TestCluster(followers: 1, maintenance: TimeSpan.Zero);
        cluster.Execute("db", "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
        var follower = cluster.Followers[0];
        cluster.Log.WaitAllApplied();
        using var stop = new CancellationTokenSource();
        var checkpoints = 0;
        var flushes = 0;
        var writer = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
                cluster.Execute("db", "INSERT INTO t(v) VALUES (randomblob(3000))");
        });
        var checkpointer = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                follower.Checkpoint("db");
                checkpoints++;
            }
        });
        var flusher = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                follower.FlushDurable();
                flushes++;
            }
        });
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(5))
            await Task.Delay(50);
        await stop.CancelAsync();
        var all = Task.WhenAll(writer, checkpointer, flusher);
        var finished = await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(finished == all, $"checkpoint and flush deadlocked after {checkpoints} checkpoints and {flushes} flushes (writer done {writer.IsCompleted}, checkpointer {checkpointer.IsCompleted}, flusher {flusher.IsCompleted})");
        await all;
        Assert.True(checkpoints > 0 && flushes > 0, $"{checkpoints} checkpoints and {flushes} flushes ran");
        cluster.Dispose();
    }
}
