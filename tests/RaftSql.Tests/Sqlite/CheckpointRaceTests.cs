using System.Diagnostics;

namespace RaftSql.Tests.Sqlite;

public class CheckpointRaceTests
{
    /// <summary>The apply path starts the WAL over as soon as everything is backfilled; a checkpoint that read the
    /// header before must not then copy the new generation's frames (by the old one's frame numbers) into the file.</summary>
    [Fact]
    public async Task A_checkpoint_never_copies_frames_of_a_WAL_restarted_under_it()
    {
        using var cluster = new TestCluster(followers: 1, maintenance: TimeSpan.Zero);
        cluster.Execute("db", "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
        cluster.Execute("db", "INSERT INTO t(id, v) VALUES (1, randomblob(100))");
        var follower = cluster.Followers[0];
        cluster.Log.WaitAllApplied();
        using var stop = new CancellationTokenSource();
        var checkpoints = 0;
        var writes = 0;
        // Small transactions: each checkpoint backfills everything, so the next apply restarts the WAL.
        var writer = Task.Run(() =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                cluster.Execute("db", i % 5 == 0 ? "INSERT INTO t(v) VALUES (randomblob(2000))" : "UPDATE t SET v = randomblob(100) WHERE id = 1");
                writes++;
            }
        });
        var checkpointer = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                follower.Checkpoint("db");
                checkpoints++;
            }
        });
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(15) && !checkpointer.IsCompleted && !writer.IsCompleted)
            await Task.Delay(50);
        await stop.CancelAsync();
        await Task.WhenAll(writer, checkpointer).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(checkpoints > 0 && writes > 0, $"{checkpoints} checkpoints and {writes} writes ran");

        // The follower's file holds exactly the committed history, as the leader's does.
        var files = cluster.CheckpointedFiles("db");
        Assert.True(files[0].AsSpan().SequenceEqual(files[1]), "the follower's database file differs from the leader's");
    }
}
