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

        cluster.Log.Refuse = () => new RaftSqlException(RaftSqlErrorCode.OutcomeUnknown, "leadership lost");
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

        // Reopen the leader's files in a fresh engine: the refused row never comes back. (Frames after the
        // durable record would be replayed from the log, which this engine does not have.)
        cluster.Leader.FlushDurable();
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
        cluster.Log.Refuse = () => new RaftSqlException(RaftSqlErrorCode.NotLeader, "not the leader");
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
    public void Commits_do_not_wait_for_the_log_and_a_cut_tail_disappears_for_every_reader()
    {
        var root = Path.Combine(Path.GetTempPath(), "raftsql-wal-" + Guid.NewGuid().ToString("N"));
        var committer = new HoldingCommitter();
        using (var engine = new ReplicationEngine(new EngineOptions { DataDirectory = root, Committer = committer, MaintenanceInterval = TimeSpan.Zero }))
        {
            committer.Engine = engine;
            using var connection = engine.OpenConnection("db");
            Exec(connection, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
            Exec(connection, "INSERT INTO t(v) VALUES ('committed')");

            // From here nothing is applied: three transactions pile up in the speculative tail without waiting.
            committer.Hold = true;
            LocalCommitTracker.Reset();
            for (var i = 0; i < 3; i++)
            {
                Exec(connection, $"INSERT INTO t(v) VALUES ('speculative {i}')");
            }
            var tail = LocalCommitTracker.Take();
            Assert.Equal(3, tail.Count);
            Assert.All(tail, c => Assert.False(c.Committed.IsCompleted));
            Assert.Equal(4, Count(connection));

            // A reader sees the tail, so its rows are held back until the tail commits.
            using var reader = engine.OpenConnection("db", readOnly: true);
            Assert.Equal(4, Count(reader));
            var gate = engine.WhenVisibleCommitted(reader);
            Assert.False(gate.IsCompleted);

            // A checkpoint copies only committed frames into the database file.
            Assert.True(engine.Checkpoint("db"));

            engine.CutTails(new RaftSqlException(RaftSqlErrorCode.OutcomeUnknown, "leadership lost"));
            Assert.All(tail, c => Assert.Equal(RaftSqlErrorCode.OutcomeUnknown,
                Assert.IsType<RaftSqlException>(c.Committed.Exception!.InnerException).Code));
            Assert.True(gate.IsFaulted);
            Assert.Equal(1, Count(reader));
            Assert.Equal(1, Count(connection));
            Assert.Equal(RaftSqlErrorCode.NotLeader,
                Assert.IsType<RaftSqlException>(engine.WhenVisibleCommitted(reader).Exception?.InnerException ?? new RaftSqlException(RaftSqlErrorCode.NotLeader, "")).Code);

            // The next transaction builds on the committed state, and what it wrote is all there is.
            committer.Hold = false;
            Exec(connection, "INSERT INTO t(v) VALUES ('after')");
            Assert.Equal(["committed", "after"], Values(connection));
            Assert.Equal("ok", TestCluster.Scalar<string>(connection, "PRAGMA integrity_check"));
            engine.FlushDurable();
        }

        // Reopened, the files hold exactly the committed rows.
        using (var engine = new ReplicationEngine(new EngineOptions { DataDirectory = root, MaintenanceInterval = TimeSpan.Zero }))
        using (var connection = engine.OpenConnection("db", readOnly: true))
        {
            Assert.Equal(["committed", "after"], Values(connection));
        }
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void A_crash_with_a_speculative_tail_reopens_at_the_durable_point()
    {
        var root = Path.Combine(Path.GetTempPath(), "raftsql-wal-" + Guid.NewGuid().ToString("N"));
        var committer = new HoldingCommitter();
        using (var engine = new ReplicationEngine(new EngineOptions { DataDirectory = root, Committer = committer, MaintenanceInterval = TimeSpan.Zero }))
        {
            committer.Engine = engine;
            using var connection = engine.OpenConnection("db");
            Exec(connection, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
            Exec(connection, "INSERT INTO t(v) VALUES ('committed')");
            engine.FlushDurable();
            committer.Hold = true;
            Exec(connection, "INSERT INTO t(v) VALUES ('speculative')");
            // The process dies here: nothing cuts the tail, the WAL file keeps the speculative commit frame.
        }
        using (var engine = new ReplicationEngine(new EngineOptions { DataDirectory = root, MaintenanceInterval = TimeSpan.Zero }))
        using (var connection = engine.OpenConnection("db", readOnly: true))
        {
            Assert.Equal(["committed"], Values(connection));
            Assert.Equal(committer.Applied, engine.DurableIndex("db"));
        }
        Directory.Delete(root, recursive: true);
    }

    private static List<string> Values(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT v FROM t ORDER BY id";
        using var reader = command.ExecuteReader();
        var values = new List<string>();
        while (reader.Read())
        {
            values.Add(reader.GetString(0));
        }
        return values;
    }

    private static void Exec(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>A log that commits (applies) each entry at once, or keeps it pending while <see cref="Hold"/>.</summary>
    private sealed class HoldingCommitter : IFrameCommitter
    {
        private ulong _last;

        public ReplicationEngine? Engine { get; set; }
        public bool Hold { get; set; }
        public ulong Applied { get; private set; }

        public void Admit(string database)
        {
        }

        public void Propose(LocalCommit commit, byte[] entry, bool final)
        {
            commit.Proposed(++_last, final);
            if (!Hold)
            {
                Engine!.ApplyCommitted(_last, 1, entry);
                Applied = _last;
            }
        }
    }
}
