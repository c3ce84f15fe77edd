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

    /// <summary>
    /// A follower snapshotted while database a stages a big transaction (its files end before that transaction's
    /// first chunk) and database b already published a big transaction whose first chunk came earlier still, plus a
    /// small write after it: b's files are complete to a later index than a's. A fresh node installs the snapshot
    /// and replays the rest of the log; each database must resume from its own point, not one global index.
    /// </summary>
    [Fact]
    public void Snapshot_replay_starts_each_database_from_the_point_its_own_files_reached()
    {
        const string big = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) INSERT INTO t(v) SELECT randomblob(2000) FROM n";
        using var cluster = new TestCluster(followers: 0);
        cluster.Execute("a", "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
        cluster.Execute("b", "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
        cluster.Execute("a", "INSERT INTO t(v) VALUES (x'01')");
        cluster.Execute("b", "INSERT INTO t(v) VALUES (x'02')");
        var setup = Enumerable.Range(1, (int)cluster.Log.LastIndex).Select(i => (ulong)i).ToList();
        var bigB = Range(cluster, () => cluster.Execute("b", big));
        var bigA = Range(cluster, () => cluster.Execute("a", big));
        var smallB1 = Range(cluster, () => cluster.Execute("b", "UPDATE t SET v = randomblob(50) WHERE id = 1"));
        var smallB2 = Range(cluster, () => cluster.Execute("b", "INSERT INTO t(v) VALUES (x'03')"));
        var smallA = Range(cluster, () => cluster.Execute("a", "DELETE FROM t WHERE id % 3 = 0"));
        Assert.True(bigA.Count > 2 && bigB.Count > 2, "both big transactions should need several chunk entries");
        cluster.Log.WaitAllApplied();

        // A leader writing both databases at once puts their entries in this order: b's big transaction begins,
        // a's begins, b's ends and b takes a small write while a's is still streaming; then the rest.
        List<ulong> order = [.. setup, bigB[0], bigA[0], .. bigB.Skip(1), .. smallB1, .. bigA.Skip(1).SkipLast(1)];
        var cut = order.Count;
        order.AddRange([bigA[^1], .. smallB2, .. smallA]);

        var follower = cluster.Start("follower", committer: null, attach: false);
        for (var i = 0; i < cut; i++)
        {
            follower.ApplyCommitted((ulong)i + 1, 1, cluster.Log.Entry(order[i]));
        }
        using var snapshot = new MemoryStream();
        var index = follower.WriteSnapshot(snapshot);
        Assert.Equal((ulong)setup.Count + 1, index); // below a's first chunk: the log keeps every entry after it

        var fresh = cluster.Start("fresh", committer: null, attach: false);
        snapshot.Position = 0;
        Assert.Equal(index, fresh.InstallSnapshot(snapshot));
        for (var i = (int)index; i < order.Count; i++)
        {
            fresh.ApplyCommitted((ulong)i + 1, 1, cluster.Log.Entry(order[i]));
        }
        for (var i = cut; i < order.Count; i++)
        {
            follower.ApplyCommitted((ulong)i + 1, 1, cluster.Log.Entry(order[i]));
        }
        foreach (var database in new[] { "a", "b" })
        {
            var expected = CheckpointedFile(cluster.Leader, database);
            Assert.True(expected.AsSpan().SequenceEqual(CheckpointedFile(follower, database)), $"{database} differs on the follower");
            Assert.True(expected.AsSpan().SequenceEqual(CheckpointedFile(fresh, database)), $"{database} differs on the node that installed the snapshot");
        }
    }

    /// <summary>The log indexes of the entries <paramref name="write"/> appends.</summary>
    private static List<ulong> Range(TestCluster cluster, Action write)
    {
        var before = cluster.Log.LastIndex;
        write();
        var after = cluster.Log.LastIndex;
        var indexes = new List<ulong>();
        for (var i = before + 1; i <= after; i++)
        {
            indexes.Add(i);
        }
        return indexes;
    }

    private static byte[] CheckpointedFile(ReplicationEngine engine, string database)
    {
        using (var connection = engine.OpenConnection(database, readOnly: true))
        {
            Assert.Equal("ok", TestCluster.Scalar<string>(connection, "PRAGMA integrity_check"));
        }
        Assert.True(engine.Checkpoint(database, truncate: true));
        return engine.ReadDatabaseFile(database);
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

    [Fact]
    public void Snapshot_of_an_older_format_is_refused_with_a_typed_error()
    {
        using var cluster = new TestCluster(followers: 0);
        cluster.Execute("a", "CREATE TABLE t(x)");
        using var snapshot = new MemoryStream();
        cluster.Leader.WriteSnapshot(snapshot);
        var bytes = snapshot.ToArray();
        bytes[8] = 1; // version 1: one index for every database
        var fresh = cluster.Start("fresh", committer: null, attach: false);
        var error = Assert.Throws<RaftSqlException>(() => fresh.InstallSnapshot(new MemoryStream(bytes)));
        Assert.Equal(RaftSqlErrorCode.SnapshotFailed, error.Code);
        Assert.Contains("version 1", error.Message, StringComparison.Ordinal);
        Assert.Empty(fresh.Databases);
    }
}
