using RaftSql.Sqlite;

namespace RaftSql.Tests.Sqlite;

public class BadInputTests
{
    public static TheoryData<string> Cases => ["wrong page size", "short page", "page number 0", "unknown database", "garbage bytes", "path trick"];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bad_frame_set_gets_a_typed_error_and_leaves_files_untouched(string kind)
    {
        using var cluster = new TestCluster(followers: 1);
        cluster.Execute("db", "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
        cluster.Execute("db", "INSERT INTO t(v) VALUES ('one')");
        cluster.Log.WaitAllApplied();
        cluster.Log.Detach(cluster.Followers[0]);
        var follower = cluster.Followers[0];
        var good = FrameSet.Decode(cluster.Log.Entry(cluster.Log.LastIndex));
        var databaseBefore = follower.ReadDatabaseFile("db");
        var walBefore = follower.ReadWalFile("db");
        var index = cluster.Log.LastIndex + 1;

        var error = Assert.Throws<RaftSqlException>(() =>
        {
            switch (kind)
            {
                case "wrong page size":
                    follower.ApplyCommitted(index, new FrameSet("db", 1024, 2, [new PageImage(2, new byte[1024])]));
                    break;
                case "short page":
                    follower.ApplyCommitted(index, new FrameSet("db", good.PageSize, good.DatabaseSizePages,
                        [good.Pages[0], new PageImage(2, new byte[100])]));
                    break;
                case "page number 0":
                    follower.ApplyCommitted(index, new FrameSet("db", good.PageSize, good.DatabaseSizePages,
                        [good.Pages[0], new PageImage(0, new byte[good.PageSize])]));
                    break;
                case "unknown database":
                    follower.ApplyCommitted(index, new FrameSet("nosuch", good.PageSize, 2, [new PageImage(2, new byte[good.PageSize])]));
                    break;
                case "garbage bytes":
                    follower.ApplyCommitted(index, new byte[] { 1, 3, 0, 0, 0, 7, 7, 7 });
                    break;
                default:
                    follower.ApplyCommitted(index, new FrameSet("../db", good.PageSize, good.DatabaseSizePages, good.Pages));
                    break;
            }
        });
        var expected = kind is "unknown database" or "path trick" ? RaftSqlErrorCode.UnknownDatabase : RaftSqlErrorCode.InvalidFrames;
        Assert.Equal(expected, error.Code);
        Assert.Equal(databaseBefore, follower.ReadDatabaseFile("db"));
        Assert.Equal(walBefore, follower.ReadWalFile("db"));
        Assert.Equal(["db"], follower.Databases);
        Assert.Equal(index - 1, follower.AppliedIndex);

        // The follower keeps working: the next good entry applies.
        cluster.Execute("db", "INSERT INTO t(v) VALUES ('two')");
        follower.ApplyCommitted(cluster.Log.LastIndex, cluster.Log.Entry(cluster.Log.LastIndex));
        using var connection = follower.OpenConnection("db", readOnly: true);
        Assert.Equal(2L, TestCluster.Scalar<long>(connection, "SELECT count(*) FROM t"));
    }

    [Fact]
    public void Invalid_database_names_are_rejected_with_a_typed_error()
    {
        using var cluster = new TestCluster(followers: 0);
        foreach (var name in new[] { "../x", "a/b", "", ".hidden", "x-wal" })
        {
            var error = Assert.Throws<RaftSqlException>(() => cluster.Leader.OpenConnection(name));
            Assert.Equal(RaftSqlErrorCode.UnknownDatabase, error.Code);
        }
    }
}
