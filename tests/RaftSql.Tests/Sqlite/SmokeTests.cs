using Microsoft.Data.Sqlite;

namespace RaftSql.Tests.Sqlite;

public class ReplicationBasicsTests
{
    [Fact]
    public void Rows_written_on_the_leader_are_read_on_followers_and_files_are_identical()
    {
        using var cluster = new TestCluster();
        cluster.Execute("app", "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
        for (var i = 0; i < 50; i++)
        {
            cluster.Execute("app", "INSERT INTO t(v) VALUES ($v)", ("$v", "row " + i));
        }
        cluster.Log.WaitAllApplied();
        foreach (var follower in cluster.Followers)
        {
            using var connection = follower.OpenConnection("app", readOnly: true);
            Assert.Equal(50L, TestCluster.Scalar<long>(connection, "SELECT count(*) FROM t"));
        }
        var files = cluster.CheckpointedFiles("app");
        Assert.All(files, f => Assert.Equal(files[0], f));
    }
}
