using Microsoft.Data.Sqlite;

namespace RaftSql.Tests.Sqlite;

/// <summary>What the leader replicates is what its own readers see after the commit, however SQLite wrote it.</summary>
public class CaptureTests
{
    [Fact]
    public void Spilled_transaction_with_a_rolled_back_savepoint_replicates_exactly_what_the_leader_sees()
    {
        using var cluster = new TestCluster(followers: 1, maintenance: TimeSpan.Zero);
        cluster.Execute("db", "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
        using (var connection = cluster.Leader.OpenConnection("db"))
        {
            // A tiny page cache makes SQLite spill frames to the WAL in the middle of the transaction and
            // rewrite them in place; the savepoint rollback then reuses frames it had written.
            Exec(connection, "PRAGMA cache_size=8");
            Exec(connection, """
                BEGIN;
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) INSERT INTO t(v) SELECT randomblob(700) FROM n;
                SAVEPOINT s;
                UPDATE t SET v = randomblob(900) WHERE id % 3 = 0;
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) INSERT INTO t(v) SELECT randomblob(500) FROM n;
                ROLLBACK TO s;
                UPDATE t SET v = zeroblob(300) WHERE id % 7 = 0;
                DELETE FROM t WHERE id % 11 = 0;
                COMMIT;
                """);
        }
        cluster.Log.WaitAllApplied();
        Assert.Equal(Digest(cluster.Leader), Digest(cluster.Followers[0]));
    }

    [Fact]
    public async Task Concurrent_writers_on_one_database_replicate_every_transaction_in_wal_order()
    {
        using var cluster = new TestCluster(followers: 1, maintenance: TimeSpan.Zero);
        cluster.Execute("db", "CREATE TABLE t(id INTEGER PRIMARY KEY, writer INTEGER, v BLOB)");
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            using var connection = cluster.Leader.OpenConnection("db");
            Exec(connection, "PRAGMA busy_timeout=30000; PRAGMA cache_size=16");
            for (var i = 0; i < 40; i++)
            {
                // Every few transactions is big enough to spill; the rest are single rows.
                Exec(connection, i % 8 == 0
                    ? $"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) INSERT INTO t(writer, v) SELECT {w}, randomblob(600) FROM n"
                    : $"INSERT INTO t(writer, v) VALUES ({w}, randomblob(100))");
            }
        })).ToArray();
        await Task.WhenAll(writers);
        cluster.Log.WaitAllApplied();
        Assert.Equal(Digest(cluster.Leader), Digest(cluster.Followers[0]));
    }

    private static string Digest(RaftSql.Sqlite.ReplicationEngine engine)
    {
        using var connection = engine.OpenConnection("db", readOnly: true);
        Assert.Equal("ok", TestCluster.Scalar<string>(connection, "PRAGMA integrity_check"));
        return TestCluster.Scalar<string>(connection, "SELECT count(*) || ':' || total(length(v)) || ':' || group_concat(hex(substr(v, 1, 4)), '') FROM t");
    }

    private static void Exec(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
