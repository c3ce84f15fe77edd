using RaftSql.Sqlite;

namespace RaftSql.Tests.Sqlite;

public class SnapshotTests
{
    [Fact]
    public void Snapshot_taken_under_writes_installs_on_a_fresh_node_that_catches_up()
    {
        using var cluster = new TestCluster(followers: 1);
        cluster.Execute("a", "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
        cluster.Execute("b", "CREATE TABLE u(id INTEGER PRIMARY KEY, w TEXT)");
        for (var i = 0; i < 100; i++)
        {
            cluster.Execute("a", "INSERT INTO t(v) VALUES (randomblob(3000))");
        }

        var stop = 0;
        var writes = 0;
        var writer = new Thread(() =>
        {
            using var a = cluster.Leader.OpenConnection("a");
            using var b = cluster.Leader.OpenConnection("b");
            using var insertA = a.CreateCommand();
            insertA.CommandText = "INSERT INTO t(v) VALUES (randomblob(2000)); DELETE FROM t WHERE id % 7 = 0";
            using var insertB = b.CreateCommand();
            insertB.CommandText = "INSERT INTO u(w) VALUES (hex(randomblob(40)))";
            while (Volatile.Read(ref stop) == 0 || writes < 200)
            {
                insertA.ExecuteNonQuery();
                insertB.ExecuteNonQuery();
                Interlocked.Increment(ref writes);
            }
        });
        writer.Start();
        SpinWait.SpinUntil(() => Volatile.Read(ref writes) >= 50, TimeSpan.FromSeconds(30));

        using var snapshot = new MemoryStream();
        var index = cluster.Followers[0].WriteSnapshot(snapshot);
        Assert.True(index > 0);

        var fresh = cluster.Start("fresh", committer: null, attach: false);
        snapshot.Position = 0;
        Assert.Equal(index, fresh.InstallSnapshot(snapshot));
        Assert.Equal(["a", "b"], fresh.Databases);
        cluster.Log.Attach(fresh, index);

        Volatile.Write(ref stop, 1);
        Assert.True(writer.Join(TimeSpan.FromMinutes(2)));
        cluster.Log.WaitAllApplied();
        foreach (var database in new[] { "a", "b" })
        {
            var files = cluster.CheckpointedFiles(database);
            Assert.All(files, f => Assert.True(files[0].AsSpan().SequenceEqual(f), $"{database} differs"));
        }
    }

    [Fact]
    public async Task A_snapshot_that_finishes_does_not_let_a_checkpoint_under_another_still_streaming()
    {
        using var cluster = new TestCluster(followers: 0, maintenance: TimeSpan.FromHours(1));
        cluster.Execute("a", "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
        for (var i = 0; i < 50; i++)
        {
            cluster.Execute("a", "INSERT INTO t(v) VALUES (randomblob(3000))");
        }
        cluster.Log.WaitAllApplied();

        // The first snapshot stalls on its first write (a slow follower), holding its locks.
        using var stalled = new StallingStream();
        var first = Task.Run(() => cluster.Leader.WriteSnapshot(stalled));
        Assert.True(stalled.Started.Wait(TimeSpan.FromSeconds(60)));
        using (var second = new MemoryStream())
        {
            cluster.Leader.WriteSnapshot(second);
        }

        cluster.Execute("a", "UPDATE t SET v = randomblob(3000)");
        cluster.Log.WaitAllApplied();
        Assert.False(cluster.Leader.Checkpoint("a")); // the file must stay still under the first snapshot

        stalled.Release.Set();
        var index = await first.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(cluster.Leader.Checkpoint("a"));
        var fresh = cluster.Start("fresh", committer: null, attach: false);
        stalled.Position = 0;
        Assert.Equal(index, fresh.InstallSnapshot(stalled));
        cluster.Log.Attach(fresh, index);
        cluster.Log.WaitAllApplied();
        var files = cluster.CheckpointedFiles("a");
        Assert.All(files, f => Assert.True(files[0].AsSpan().SequenceEqual(f), "the installed snapshot differs"));
    }

    /// <summary>A memory stream whose first write waits until released.</summary>
    private sealed class StallingStream : MemoryStream
    {
        public ManualResetEventSlim Started { get; } = new();
        public ManualResetEventSlim Release { get; } = new();

        public override void Write(byte[] buffer, int offset, int count)
        {
            Stall();
            base.Write(buffer, offset, count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Stall();
            base.Write(buffer);
        }

        private void Stall()
        {
            Started.Set();
            Release.Wait(TimeSpan.FromSeconds(60));
        }
    }

    [Fact]
    public void Corrupt_snapshot_is_refused_with_a_typed_error()
    {
        using var cluster = new TestCluster(followers: 0);
        cluster.Execute("a", "CREATE TABLE t(x)");
        using var snapshot = new MemoryStream();
        cluster.Leader.WriteSnapshot(snapshot);
        var bytes = snapshot.ToArray();
        bytes[bytes.Length / 2] ^= 0xff;
        var fresh = cluster.Start("fresh", committer: null, attach: false);
        var error = Assert.Throws<RaftSqlException>(() => fresh.InstallSnapshot(new MemoryStream(bytes)));
        Assert.Equal(RaftSqlErrorCode.SnapshotFailed, error.Code);
        Assert.Empty(fresh.Databases);
    }
}
