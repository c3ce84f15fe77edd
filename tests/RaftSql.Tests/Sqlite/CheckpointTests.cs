namespace RaftSql.Tests.Sqlite;

public class CheckpointTests
{
    [Fact]
    public void Checkpoints_let_the_follower_restart_its_WAL_so_it_stays_bounded()
    {
        using var cluster = new TestCluster(followers: 0, maintenance: TimeSpan.Zero);
        cluster.Execute("db", "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
        for (var i = 0; i < 300; i++)
        {
            cluster.Execute("db", "INSERT INTO t(v) VALUES (randomblob(500))");
        }
        cluster.Log.WaitAllApplied();

        var follower = cluster.Start("follower", committer: null, attach: false, maintenance: TimeSpan.Zero);
        var largestWal = 0L;
        for (ulong i = 1; i <= cluster.Log.LastIndex; i++)
        {
            follower.ApplyCommitted(i, cluster.Log.Entry(i));
            if (i % 25 == 0)
            {
                largestWal = Math.Max(largestWal, follower.ReadWalFile("db").Length);
                follower.Checkpoint("db");
            }
        }
        // Without restarts the WAL would hold every frame written (several hundred pages).
        Assert.True(largestWal < 80 * 4120, $"WAL grew to {largestWal} bytes");

        using (var connection = follower.OpenConnection("db", readOnly: true))
        {
            Assert.Equal(300L, TestCluster.Scalar<long>(connection, "SELECT count(*) FROM t"));
        }
        cluster.Leader.Checkpoint("db", truncate: true);
        follower.Checkpoint("db", truncate: true);
        Assert.True(cluster.Leader.ReadDatabaseFile("db").AsSpan().SequenceEqual(follower.ReadDatabaseFile("db")));
    }
}
