using RaftSql.Sqlite;

namespace RaftSql.Tests.Sqlite;

public class RecoveryTests
{
    [Fact]
    public void Crash_mid_apply_then_reopen_and_replay_gives_the_same_bytes()
    {
        using var cluster = new TestCluster(followers: 0);
        cluster.Execute("db", "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
        for (var i = 0; i < 40; i++)
        {
            cluster.Execute("db", "INSERT INTO t(v) VALUES (randomblob($n))", ("$n", 100 + i * 300));
            if (i % 5 == 0)
            {
                cluster.Execute("db", "UPDATE t SET v = randomblob(50) WHERE id % 3 = 0");
            }
        }
        cluster.Log.WaitAllApplied();
        var last = cluster.Log.LastIndex;

        // A node applies part of the log, records a durable index part way, then "crashes": its files
        // are copied as they are, with the last transaction's frames cut in the middle (a torn write).
        // No background maintenance here: the durable index must stay where this test puts it.
        var crashing = cluster.Start("crashing", committer: null, attach: false, maintenance: TimeSpan.Zero);
        const ulong durableAt = 10, crashAfter = 30;
        byte[] walBeforeLast = [];
        for (ulong i = 1; i <= crashAfter; i++)
        {
            if (i == crashAfter)
            {
                walBeforeLast = crashing.ReadWalFile("db");
            }
            crashing.ApplyCommitted(i, cluster.Log.Entry(i));
            if (i == durableAt)
            {
                crashing.FlushDurable();
            }
        }
        Assert.Equal(durableAt, crashing.DurableIndex("db"));
        var wal = crashing.ReadWalFile("db");
        Assert.True(wal.Length > walBeforeLast.Length, "the last apply should have appended to the WAL");
        var torn = wal[..(walBeforeLast.Length + (wal.Length - walBeforeLast.Length) / 2)];
        var database = crashing.ReadDatabaseFile("db");
        var durable = File.ReadAllBytes(Path.Combine(cluster.Directory("crashing"), "durable", "db"));

        var restored = cluster.Directory("restored");
        Directory.CreateDirectory(Path.Combine(restored, "databases"));
        Directory.CreateDirectory(Path.Combine(restored, "durable"));
        File.WriteAllBytes(Path.Combine(restored, "databases", "db"), database);
        File.WriteAllBytes(Path.Combine(restored, "databases", "db-wal"), torn);
        File.WriteAllBytes(Path.Combine(restored, "durable", "db"), durable);

        var reopened = cluster.Start("restored", committer: null, attach: false, maintenance: TimeSpan.Zero);
        Assert.Equal(durableAt, reopened.DurableIndex());
        for (var i = reopened.DurableIndex() + 1; i <= last; i++)
        {
            reopened.ApplyCommitted(i, cluster.Log.Entry(i));
        }
        // Replaying entries that are already applied changes nothing.
        for (var i = last - 5; i <= last; i++)
        {
            reopened.ApplyCommitted(i, cluster.Log.Entry(i));
        }

        cluster.Leader.Checkpoint("db", truncate: true);
        reopened.Checkpoint("db", truncate: true);
        Assert.True(cluster.Leader.ReadDatabaseFile("db").AsSpan().SequenceEqual(reopened.ReadDatabaseFile("db")));
        using var connection = reopened.OpenConnection("db", readOnly: true);
        Assert.Equal("ok", TestCluster.Scalar<string>(connection, "PRAGMA integrity_check"));
        Assert.Equal(40L, TestCluster.Scalar<long>(connection, "SELECT count(*) FROM t"));
    }
}
