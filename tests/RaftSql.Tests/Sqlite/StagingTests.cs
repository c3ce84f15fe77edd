using Microsoft.Data.Sqlite;
using RaftSql.Sqlite;

namespace RaftSql.Tests.Sqlite;

/// <summary>A big transaction arrives as chunk entries: followers write them to the WAL unpublished and
/// show them only at the final entry; an abandoned one leaves no trace; a restart replays it.</summary>
public sealed class StagingTests : IDisposable
{
    private const string BigInsert =
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) INSERT INTO t(v) SELECT randomblob(2000) FROM n";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "raftsql-staging-" + Guid.NewGuid().ToString("N"));
    private readonly RecordingLog _log = new();

    [Fact]
    public void Chunks_stay_invisible_until_the_final_entry_and_an_abandoned_transaction_leaves_no_trace()
    {
        using var leader = Start("leader", _log);
        using var follower = Start("follower", null);
        _log.Engine = leader;
        Exec(leader, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
        Exec(leader, "INSERT INTO t(v) VALUES (x'01')");
        FeedAll(follower, term: 1);

        _log.Hold = true;
        Exec(leader, BigInsert);
        var big = _log.Entries.Skip(_log.Fed).ToList();
        Assert.True(big.Count > 3, "the transaction should need several chunk entries");
        foreach (var entry in big.SkipLast(1))
        {
            follower.ApplyCommitted((ulong)++_log.Fed, 1, entry);
            Assert.Equal(1, Count(follower));
        }

        // The leader is deposed before the final entry: its tail is cut, a new term begins on the follower.
        leader.CutTails(new RaftSqlException(RaftSqlErrorCode.OutcomeUnknown, "leadership lost"));
        _log.Hold = false;
        _log.Entries.RemoveRange(_log.Fed, _log.Entries.Count - _log.Fed);
        _log.Entries.Add([]); // the new leader's no-op
        follower.ApplyOther((ulong)++_log.Fed, 2);
        Exec(leader, "INSERT INTO t(v) VALUES (x'02')");
        FeedAll(follower, term: 2);

        Assert.Equal(2, Count(follower));
        Assert.Equal(Digest(leader), Digest(follower));
    }

    [Fact]
    public void A_follower_restarted_in_the_middle_of_a_staged_transaction_replays_it_from_the_log()
    {
        using var leader = Start("leader", _log);
        _log.Engine = leader;
        var follower = Start("follower", null);
        Exec(leader, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");
        Exec(leader, "INSERT INTO t(v) VALUES (x'01')");
        Exec(leader, BigInsert);
        FeedAll(follower, term: 1, stopBeforeLast: true);

        follower.FlushDurable();
        var firstChunk = (ulong)_log.Entries.FindIndex(e => !FrameSet.Decode(e).IsWhole) + 1;
        Assert.True(follower.DurableIndex("db") < firstChunk, "the durable index must stay below an unfinished transaction");
        follower.Dispose();

        using var restarted = Start("follower", null);
        Assert.Equal(1, Count(restarted));
        for (var index = restarted.DurableIndex("db") + 1; index <= (ulong)_log.Entries.Count; index++)
        {
            restarted.ApplyCommitted(index, 1, _log.Entries[(int)index - 1]);
        }
        Assert.Equal(3001, Count(restarted));
        Assert.Equal(Digest(leader), Digest(restarted));
    }

    [Fact]
    public void A_new_database_whose_first_transaction_is_big_is_created_on_followers_from_its_chunks()
    {
        using var leader = Start("leader", _log);
        using var follower = Start("follower", null);
        _log.Engine = leader;
        Exec(leader, "CREATE TABLE t AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) SELECT randomblob(2000) AS v FROM n");
        Assert.True(_log.Entries.Count > 3, "the first transaction should need several chunk entries");
        FeedAll(follower, term: 1);
        Assert.Equal(3000, Count(follower));
        Assert.Equal(Digest(leader), Digest(follower));
    }

    private ReplicationEngine Start(string node, IFrameCommitter? committer) => new(new EngineOptions
    {
        DataDirectory = Path.Combine(_root, node),
        Committer = committer,
        MaintenanceInterval = TimeSpan.Zero,
    });

    private void FeedAll(ReplicationEngine follower, ulong term, bool stopBeforeLast = false)
    {
        var end = _log.Entries.Count - (stopBeforeLast ? 1 : 0);
        while (_log.Fed < end)
        {
            follower.ApplyCommitted((ulong)(_log.Fed + 1), term, _log.Entries[_log.Fed]);
            _log.Fed++;
        }
    }

    private static void Exec(ReplicationEngine engine, string sql)
    {
        using var connection = engine.OpenConnection("db");
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static long Count(ReplicationEngine engine)
    {
        using var connection = engine.OpenConnection("db", readOnly: true);
        return TestCluster.Scalar<long>(connection, "SELECT count(*) FROM t");
    }

    private static string Digest(ReplicationEngine engine)
    {
        using var connection = engine.OpenConnection("db", readOnly: true);
        Assert.Equal("ok", TestCluster.Scalar<string>(connection, "PRAGMA integrity_check"));
        return TestCluster.Scalar<string>(connection, "SELECT count(*) || ':' || total(length(v)) || ':' || group_concat(hex(substr(v, 1, 3)), '') FROM t");
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A log that applies each entry to the leader as soon as it is proposed, unless held.</summary>
    private sealed class RecordingLog : IFrameCommitter
    {
        public List<byte[]> Entries { get; } = [];
        public ReplicationEngine? Engine { get; set; }
        public bool Hold { get; set; }
        public int Fed { get; set; }

        public void Admit(string database)
        {
        }

        public void Propose(LocalCommit commit, byte[] entry, bool final)
        {
            Entries.Add(entry);
            commit.Proposed((ulong)Entries.Count, final);
            if (!Hold)
            {
                Engine!.ApplyCommitted((ulong)Entries.Count, 1, entry);
            }
        }
    }
}
