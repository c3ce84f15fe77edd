namespace RaftSql.Tests.Sqlite;

public class WalIndexTests
{
    [Fact]
    public void Follower_reads_a_transaction_spanning_several_hash_blocks_through_its_WAL_index()
    {
        // More than 4062 frames (the first WAL-index block) in one transaction, read back before any checkpoint.
        using var cluster = new TestCluster(followers: 1, maintenance: TimeSpan.Zero);
        cluster.Execute("big", "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
        cluster.Execute("big", "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4500) INSERT INTO t(v) SELECT zeroblob(3000) || randomblob(900) FROM n");
        cluster.Execute("big", "UPDATE t SET v = randomblob(100) WHERE id % 10 = 0");
        cluster.Log.WaitAllApplied();

        string Digest(RaftSql.Sqlite.ReplicationEngine engine)
        {
            using var connection = engine.OpenConnection("big", readOnly: true);
            Assert.Equal("ok", TestCluster.Scalar<string>(connection, "PRAGMA integrity_check"));
            return TestCluster.Scalar<string>(connection, "SELECT count(*) || ':' || sum(length(v)) || ':' || sum(unicode(hex(substr(v, -4)))) FROM t");
        }
        Assert.Equal(Digest(cluster.Leader), Digest(cluster.Followers[0]));
        Assert.True(cluster.Followers[0].ReadWalFile("big").Length > 4100L * 4120, "the WAL should span more than one hash block");
    }
}
