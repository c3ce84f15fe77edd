using Microsoft.Data.Sqlite;
using RaftSql.Sqlite;

namespace RaftSql.Tests.Sqlite;

public class CommitFailureTests
{
    private static long Count(SqliteConnection connection) => TestCluster.Scalar<long>(connection, "SELECT count(*) FROM t");

    private static RaftSqlException InsertExpectingFailure(SqliteConnection connection, string value)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO t(v) VALUES ($v)";
        command.Parameters.AddWithValue("$v", value);
        var error = Assert.Throws<SqliteException>(() => command.ExecuteNonQuery());
        return error.ToRaftSqlException();
    }

    [Fact]
    public void Refused_commit_fails_typed_leaves_nothing_and_the_next_commit_works()
    {
        using var cluster = new TestCluster(followers: 1);
        cluster.Execute("db", "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
        cluster.Execute("db", "INSERT INTO t(v) VALUES ('kept')");
        var entriesBefore = cluster.Log.LastIndex;

        cluster.Log.Refuse = _ => new RaftSqlException(RaftSqlErrorCode.OutcomeUnknown, "leadership lost");
        using (var connection = cluster.Leader.OpenConnection("db"))
        {
            var error = InsertExpectingFailure(connection, "refused");
            Assert.Equal(RaftSqlErrorCode.OutcomeUnknown, error.Code);
            Assert.Equal(1, Count(connection));

            cluster.Log.Refuse = null;
            using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO t(v) VALUES ('after')";
            command.ExecuteNonQuery();
        }
        Assert.Equal(entriesBefore + 1, cluster.Log.LastIndex);
        cluster.Log.WaitAllApplied();

        // Reopen the leader's files in a fresh engine: the refused row never comes back.
        cluster.Log.Detach(cluster.Leader);
        cluster.Leader.Dispose();
        using var reopened = new ReplicationEngine(new EngineOptions { DataDirectory = cluster.Directory("leader") });
        foreach (var engine in new[] { reopened, cluster.Followers[0] })
        {
            using var connection = engine.OpenConnection("db", readOnly: true);
            Assert.Equal(2, Count(connection));
            Assert.Equal(0L, TestCluster.Scalar<long>(connection, "SELECT count(*) FROM t WHERE v = 'refused'"));
        }
    }

    [Fact]
    public void Explicit_transaction_refused_at_commit_rolls_back_and_connection_stays_usable()
    {
        using var cluster = new TestCluster(followers: 1);
        cluster.Execute("db", "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
        using var connection = cluster.Leader.OpenConnection("db");
        cluster.Log.Refuse = _ => new RaftSqlException(RaftSqlErrorCode.NotLeader, "not the leader");
        var tx = connection.BeginTransaction();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = tx;
            command.CommandText = "INSERT INTO t(v) VALUES ('a'); INSERT INTO t(v) VALUES ('b')";
            command.ExecuteNonQuery();
        }
        var error = Assert.Throws<SqliteException>(tx.Commit).ToRaftSqlException();
        Assert.Equal(RaftSqlErrorCode.NotLeader, error.Code);
        tx.Dispose();
        cluster.Log.Refuse = null;
        Assert.Equal(0, Count(connection));
        cluster.Execute("db", "INSERT INTO t(v) VALUES ('c')");
        Assert.Equal(1, Count(connection));
    }

    [Fact]
    public void FailPendingCommits_releases_a_waiting_writer_with_the_given_error()
    {
        var root = Path.Combine(Path.GetTempPath(), "raftsql-wal-" + Guid.NewGuid().ToString("N"));
        var committer = new HoldingCommitter();
        using (var engine = new ReplicationEngine(new EngineOptions { DataDirectory = root, Committer = committer }))
        {
            committer.Answer = c => c.Commit(1);
            using var connection = engine.OpenConnection("db");
            committer.Answer = c => c.Commit(2);
            Exec(connection, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");

            committer.Answer = null;
            var failer = new Thread(() =>
            {
                committer.Submitted.Wait(TimeSpan.FromSeconds(30));
                engine.FailPendingCommits(new RaftSqlException(RaftSqlErrorCode.OutcomeUnknown, "leadership lost"));
            });
            failer.Start();
            var error = InsertExpectingFailure(connection, "x");
            failer.Join();
            Assert.Equal(RaftSqlErrorCode.OutcomeUnknown, error.Code);
            Assert.Equal(0, Count(connection));
        }
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void Unanswered_commit_times_out_as_outcome_unknown()
    {
        var root = Path.Combine(Path.GetTempPath(), "raftsql-wal-" + Guid.NewGuid().ToString("N"));
        var committer = new HoldingCommitter();
        using (var engine = new ReplicationEngine(new EngineOptions
               {
                   DataDirectory = root, Committer = committer, CommitTimeout = TimeSpan.FromMilliseconds(300),
               }))
        {
            committer.Answer = c => c.Commit(1);
            using var connection = engine.OpenConnection("db");
            committer.Answer = c => c.Commit(2);
            Exec(connection, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
            committer.Answer = null;
            Assert.Equal(RaftSqlErrorCode.OutcomeUnknown, InsertExpectingFailure(connection, "x").Code);
            committer.Answer = c => c.Commit(4);
            Exec(connection, "INSERT INTO t(v) VALUES ('y')");
            Assert.Equal(1, Count(connection));
        }
        Directory.Delete(root, recursive: true);
    }

    private static void Exec(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Answers synchronously when <see cref="Answer"/> is set, otherwise leaves the commit waiting.</summary>
    private sealed class HoldingCommitter : IFrameCommitter
    {
        public Action<PendingCommit>? Answer { get; set; }
        public ManualResetEventSlim Submitted { get; } = new();

        public void Submit(PendingCommit commit)
        {
            if (Answer != null)
            {
                Answer(commit);
                return;
            }
            Submitted.Set();
        }
    }
}
