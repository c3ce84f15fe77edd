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

    /// <summary>The writer of a big transaction fails after two chunk entries went to the log: they commit without a
    /// final entry. Neither the leader (which must not stage its own chunks like another leader's) nor the follower
    /// may keep anything of it or hold its snapshot point or durable index below it; later writes apply normally.</summary>
    [Fact]
    public void A_big_transaction_abandoned_after_some_chunks_leaves_no_trace_and_pins_nothing()
    {
        const string big = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) INSERT INTO t(v) SELECT randomblob(2000) FROM n";
        using var cluster = new TestCluster(followers: 1);
        cluster.Execute("db", "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
        cluster.Execute("db", "INSERT INTO t(v) VALUES (x'01')");
        var database = cluster.Leader.OpenDatabase("db");
        database.ChunkFault = sequence => sequence == 2;
        using (var connection = cluster.Leader.OpenConnection("db"))
        {
            using var command = connection.CreateCommand();
            command.CommandText = big;
            Assert.Throws<SqliteException>(() => command.ExecuteNonQuery());
            Assert.Equal(1, Count(connection));
        }
        database.ChunkFault = null;

        cluster.Log.WaitAllApplied();
        foreach (var engine in cluster.All)
        {
            Assert.Equal(engine.AppliedIndex, engine.SnapshotPoint(engine.AppliedIndex));
            engine.FlushDurable();
            Assert.Equal(engine.AppliedIndex, engine.DurableIndex("db"));
        }

        cluster.Execute("db", "INSERT INTO t(v) VALUES (x'02')");
        cluster.Execute("db", big);
        var files = cluster.CheckpointedFiles("db");
        Assert.All(files, f => Assert.True(files[0].AsSpan().SequenceEqual(f), "the nodes differ"));
        using var follower = cluster.Followers[0].OpenConnection("db", readOnly: true);
        Assert.Equal(1502, Count(follower));
    }

    /// <summary>A commit that fails after its commit frame reached the WAL file (here a big one whose writer failed
    /// between chunks) must leave nothing that WAL recovery takes for a commit: after a crash, SQLite's own recovery
    /// of the files (as when the durable record does not know the WAL yet) must not bring it back.</summary>
    [Fact]
    public void A_failed_commit_leaves_no_commit_frame_that_recovery_would_replay()
    {
        using var cluster = new TestCluster(followers: 0);
        cluster.Execute("db", "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
        cluster.Execute("db", "INSERT INTO t(v) VALUES (x'01')");
        var database = cluster.Leader.OpenDatabase("db");
        database.ChunkFault = sequence => sequence == 1;
        using (var connection = cluster.Leader.OpenConnection("db"))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) INSERT INTO t(v) SELECT randomblob(2000) FROM n";
            Assert.Throws<SqliteException>(() => command.ExecuteNonQuery());
        }
        database.ChunkFault = null;

        var copy = Path.Combine(cluster.Directory("crashed"), "db");
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        File.WriteAllBytes(copy, cluster.Leader.ReadDatabaseFile("db"));
        File.WriteAllBytes(copy + "-wal", cluster.Leader.ReadWalFile("db"));
        using var recovered = new SqliteConnection($"Data Source={copy};Pooling=False");
        recovered.Open();
        Assert.Equal(1, Count(recovered));
        Assert.Equal("ok", TestCluster.Scalar<string>(recovered, "PRAGMA integrity_check"));
    }

    /// <summary>Inserts rows until SQLite fails a commit after its commit frame (mapping the second WAL-index
    /// region, past frame 4062, is made to fail): returns the rows that succeeded, the error, and the commit
    /// the VFS captured and proposed for the failed statement.</summary>
    private static (long Succeeded, RaftSqlException Error, LocalCommit Proposed) InsertUntilShmMapFails(TestCluster cluster,
        Func<int, bool>? fault = null)
    {
        var db = cluster.Leader.OpenDatabase("db");
        db.ShmMapFault = fault ?? (region => region >= 1);
        try
        {
            using var connection = cluster.Leader.OpenConnection("db");
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO t(v) VALUES (randomblob(7000))";
            for (long succeeded = 0; succeeded < 5000; succeeded++)
            {
                LocalCommitTracker.Reset();
                try
                {
                    insert.ExecuteNonQuery();
                }
                catch (SqliteException ex)
                {
                    return (succeeded, ex.ToRaftSqlException(), Assert.Single(LocalCommitTracker.Take()));
                }
            }
            throw new InvalidOperationException("No commit crossed into the second WAL-index region.");
        }
        finally
        {
            db.ShmMapFault = null;
        }
    }

    [Fact]
    public async Task A_commit_SQLite_fails_after_its_commit_frame_is_applied_from_the_log_before_any_later_write()
    {
        // No background checkpoint: the WAL must grow past the first WAL-index region.
        using var cluster = new TestCluster(followers: 1, maintenance: TimeSpan.FromHours(1));
        cluster.Execute("db", "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
        cluster.Log.WaitAllApplied();
        // Nothing commits until SQLite has given up on the failed commit (the common order: a Raft round trip
        // takes longer than the rest of SQLite's commit).
        cluster.Log.Held = true;
        var (succeeded, _, failed) = InsertUntilShmMapFails(cluster);
        cluster.Log.Held = false;
        Assert.Empty(cluster.Log.Lost);

        // The log's copy commits and is applied on the leader like another leader's entry; the next local write
        // starts only on top of it.
        Assert.Equal(failed.FinalIndex, await failed.Committed.WaitAsync(TimeSpan.FromSeconds(60)));
        cluster.Execute("db", "INSERT INTO t(v) VALUES (x'00')");
        var files = cluster.CheckpointedFiles("db");
        Assert.Equal(files[0], files[1]);
        foreach (var engine in cluster.All)
        {
            using var reader = engine.OpenConnection("db", readOnly: true);
            Assert.Equal(succeeded + 2, Count(reader));
        }
    }

    [Fact]
    public async Task A_commit_SQLite_fails_after_it_was_already_applied_stops_the_database_until_a_restart_replays_it()
    {
        using var cluster = new TestCluster(followers: 1, maintenance: TimeSpan.FromHours(1));
        cluster.Execute("db", "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
        cluster.Log.WaitAllApplied();
        // The failed commit's entry is committed and applied (as our own: only the commit mark moves) before
        // SQLite reports the failure: the leader's WAL lacks a committed entry, so the database refuses to go on.
        var (succeeded, _, failed) = InsertUntilShmMapFails(cluster, region =>
        {
            if (region < 1)
                return false;
            var last = cluster.Log.LastIndex;
            Assert.True(SpinWait.SpinUntil(() => cluster.Leader.AppliedIndex >= last, TimeSpan.FromSeconds(60)));
            return true;
        });
        var broken = await Assert.ThrowsAsync<RaftSqlException>(() => failed.Committed.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(RaftSqlErrorCode.CorruptLog, broken.Code);
        Assert.Same(broken, Assert.Single(cluster.Log.Lost)); // the host stops the node on it
        // Maintenance may still record what is durable before the node stops: never past the lost commit.
        cluster.Leader.FlushDurable();
        Assert.True(cluster.Leader.DurableIndex() < failed.FirstIndex);

        // No local write goes on top of the state that lacks it (the next entry applied to it fails the host's
        // loop, which stops the node); a restart replays the entry from the log.
        using (var connection = cluster.Leader.OpenConnection("db"))
        {
            Assert.Equal(RaftSqlErrorCode.CorruptLog, InsertExpectingFailure(connection, "on top").Code);
        }
        cluster.Log.Detach(cluster.Leader);
        cluster.Leader.Dispose();
        var restarted = cluster.Start("leader", committer: null);
        cluster.Log.WaitAllApplied();
        foreach (var engine in new[] { restarted, cluster.Followers[0] })
        {
            using var reader = engine.OpenConnection("db", readOnly: true);
            Assert.Equal(succeeded + 1, Count(reader));
            Assert.Equal("ok", TestCluster.Scalar<string>(reader, "PRAGMA integrity_check"));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_big_commit_SQLite_fails_after_its_first_chunk_was_applied_as_ours_is_staged_again_from_the_log(bool deposed)
    {
        using var cluster = new TestCluster(followers: 1, maintenance: TimeSpan.FromHours(1));
        cluster.Execute("db", "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
        cluster.Log.WaitAllApplied();
        var first = cluster.Log.LastIndex + 1;
        // Only the transaction's first chunk commits (and is applied as our own) before SQLite gives up on it.
        cluster.Log.ApplyLimit = first;
        var db = cluster.Leader.OpenDatabase("db");
        var faulted = 0;
        db.ShmMapFault = region => region >= 1 && Interlocked.Exchange(ref faulted, 1) == 0
            && SpinWait.SpinUntil(() => cluster.Leader.AppliedIndex >= first, TimeSpan.FromSeconds(60));
        LocalCommit failed;
        using (var connection = cluster.Leader.OpenConnection("db"))
        {
            using var command = connection.CreateCommand();
            // No cache spill: every frame reaches the WAL-index only after the whole transaction was proposed.
            command.CommandText = "PRAGMA cache_size=-200000";
            command.ExecuteNonQuery();
            command.CommandText =
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) INSERT INTO t(v) SELECT randomblob(3000) FROM n";
            LocalCommitTracker.Reset();
            Assert.Throws<SqliteException>(() => command.ExecuteNonQuery());
            failed = Assert.Single(LocalCommitTracker.Take());
        }
        db.ShmMapFault = null;
        Assert.True(failed.FinalIndex > first + 1, "the transaction should travel as several chunks");
        Assert.False(failed.Committed.IsCompleted);

        if (deposed)
        {
            // Leadership is lost before the rest commits (a new leader commits it): the outcome is unknown here.
            cluster.Leader.CutTails(new RaftSqlException(RaftSqlErrorCode.OutcomeUnknown, "leadership lost"), cluster.Log.ReadLog);
            Assert.Equal(RaftSqlErrorCode.OutcomeUnknown,
                (await Assert.ThrowsAsync<RaftSqlException>(() => failed.Committed.WaitAsync(TimeSpan.FromSeconds(60)))).Code);
        }

        // The rest commits: the leader applies the transaction from the log, its first chunk included.
        cluster.Log.ApplyLimit = ulong.MaxValue;
        cluster.Log.WaitAllApplied();
        if (!deposed)
        {
            Assert.Equal(failed.FinalIndex, await failed.Committed.WaitAsync(TimeSpan.FromSeconds(60)));
        }
        cluster.Execute("db", "INSERT INTO t(v) VALUES (x'00')");
        var files = cluster.CheckpointedFiles("db");
        Assert.Equal(files[0], files[1]);
        foreach (var engine in cluster.All)
        {
            using var reader = engine.OpenConnection("db", readOnly: true);
            Assert.Equal(5001, Count(reader));
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
