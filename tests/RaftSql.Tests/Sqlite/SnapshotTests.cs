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
