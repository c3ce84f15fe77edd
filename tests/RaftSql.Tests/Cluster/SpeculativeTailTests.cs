using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using RaftSql.Gateway;
using RaftSql.Hosting;
using RaftSql.Protocol;
using RaftSql.Sqlite;
using RaftSql.Transport;
using Xunit.Abstractions;

namespace RaftSql.Tests.Cluster;

/// <summary>
/// Engine v2 (issue 8): the leader's WAL is the committed log plus a speculative tail. A client that
/// times out never changes state; a deposed leader releases nothing from its tail and converges to the
/// new leader; readers on the leader, at every consistency level and through every read path, only
/// ever see committed states.
/// </summary>
[Collection(ClusterTests.Collection)]
public sealed class SpeculativeTailTests(ITestOutputHelper output)
{
    private const string Db = "app.db";

    private static readonly long Origin = Stopwatch.GetTimestamp();

    // ---- 1. a commit slower than the client's timeout (the v1 corruption) -----------------------

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_write_whose_commit_outlasts_the_client_timeout_stays_and_later_writes_build_on_it(bool leaderDeposed)
    {
        var commitTimeout = TimeSpan.FromMilliseconds(600);
        var phases = Stopwatch.StartNew();
        await using var cluster = await LocalCluster.StartAsync(3, configure: o =>
        {
            // Long enough that a partition of a few commit timeouts neither starts an election nor makes
            // the leader step down (check-quorum), so the delayed entries commit once the links heal.
            o.ElectionTimeout = TimeSpan.FromSeconds(4);
            o.CommitTimeout = commitTimeout;
            // Stopping the cluster at the end: a hand-over to a node that already stopped would wait three election timeouts.
            o.HandOverLeadershipOnStop = false;
        });
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60));
        var followers = cluster.Running.Where(n => n.Id != leader.Id).ToList();
        output.WriteLine($"{phases.Elapsed.TotalSeconds:0.0} s: node {leader.Id} leads");

        await SurelyAsync(leader, "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE, pad BLOB NOT NULL, touched INTEGER NOT NULL DEFAULT 0)");
        await SurelyAsync(leader, "CREATE TABLE IF NOT EXISTS c (n INTEGER NOT NULL)");
        await SurelyAsync(leader, "INSERT INTO c SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM c)");
        await SurelyAsync(leader, "CREATE TRIGGER IF NOT EXISTS t_count AFTER INSERT ON t BEGIN UPDATE c SET n = n + 1; END");
        var attempted = new HashSet<string>();
        for (var i = 0; i < 40; i++)
        {
            attempted.Add($"pre-{i}");
            await SurelyAsync(leader, $"INSERT OR IGNORE INTO t (v, pad) VALUES ('pre-{i}', randomblob(600))");
        }
        var acknowledged = new HashSet<string>(attempted);
        var termBefore = leader.Services.Host.Status.Term;

        // Cut the leader off: its entries cannot commit, but it keeps leading for a while.
        output.WriteLine($"{phases.Elapsed.TotalSeconds:0.0} s: set up");
        cluster.Faults.Partition([leader.Id], followers.Select(f => f.Id).ToList());
        var late = Enumerable.Range(0, 5).Select(i => $"late-{i}").ToList();
        attempted.UnionWith(late);
        var clock = Stopwatch.StartNew();
        var first = await Assert.ThrowsAsync<RaftSqlException>(() =>
            leader.ExecuteAsync(Db, $"INSERT INTO t (v, pad) VALUES ('{late[0]}', randomblob(1500))"));
        var firstTook = clock.Elapsed;
        // It was proposed, then the client stopped waiting: the outcome is unknown to it...
        Assert.Equal(RaftSqlErrorCode.OutcomeUnknown, first.Code);
        // ...and nothing changed: the frames stay in the leader's tail.
        Assert.Equal(1L, PeekCount(leader, "SELECT count(*) FROM t WHERE v = 'late-0'"));

        // More transactions computed on top of the timed-out one, all in the tail at once.
        var more = late.Skip(1).Select(v => Outcome(leader.ExecuteAsync(Db, $"INSERT INTO t (v, pad) VALUES ('{v}', randomblob(1500))"))).ToList();
        more.Add(Outcome(leader.ExecuteAsync(Db, "UPDATE t SET touched = touched + 1, pad = randomblob(700) WHERE id % 4 = 0")));
        var outcomes = await Task.WhenAll(more).WaitAsync(TimeSpan.FromSeconds(60));
        output.WriteLine($"first timed-out write failed with {first.Code} after {firstTook.TotalMilliseconds:0} ms; the others: {string.Join(", ", outcomes.Select(o => o?.ToString() ?? "ok"))}");
        Assert.All(outcomes, o => Assert.Contains(o, new RaftSqlErrorCode?[] { RaftSqlErrorCode.OutcomeUnknown, RaftSqlErrorCode.Timeout }));
        // OutcomeUnknown: proposed, so in the tail; Timeout: never admitted (it waited for the writer too long).
        var lateInTail = 1 + outcomes.Take(late.Count - 1).Count(o => o == RaftSqlErrorCode.OutcomeUnknown);
        Assert.Equal(lateInTail, PeekCount(leader, "SELECT count(*) FROM t WHERE v LIKE 'late-%'"));
        Assert.True(lateInTail >= 3, $"only {lateInTail} timed-out inserts reached the tail");

        if (leaderDeposed)
        {
            // The majority elects a leader and writes on; the old leader cuts its tail.
            await Eventually.TrueAsync(() => followers.Any(f => f.IsLeader && f.Services.Host.Status.AcceptsWrites),
                TimeSpan.FromSeconds(60), "a leader in the majority");
            var majority = followers.First(f => f.IsLeader);
            await WriteUntilAcknowledgedAsync(majority, "majority", 6, attempted, acknowledged);
            await Eventually.TrueAsync(() => !leader.IsLeader, TimeSpan.FromSeconds(60), "the old leader to step down");
        }
        output.WriteLine($"{phases.Elapsed.TotalSeconds:0.0} s: healing");
        cluster.Faults.Heal();
        var current = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60));
        if (!leaderDeposed)
        {
            // The delayed entries commit after all; nothing replaced them (unless a spurious election did).
            await Eventually.TrueAsync(async () => current.Services.Host.Status.Term != termBefore
                || await TryCountAsync(current, "SELECT count(*) FROM t WHERE v LIKE 'late-%'") == lateInTail,
                TimeSpan.FromSeconds(60), "the delayed entries to commit");
        }
        // More writes after healing, through the leader and through the followers.
        foreach (var node in cluster.Running.ToList())
            await WriteUntilAcknowledgedAsync(node, $"after-{node.Id}", 4, attempted, acknowledged);

        output.WriteLine($"{phases.Elapsed.TotalSeconds:0.0} s: written after healing");
        var final = await ConvergeAsync(cluster, "SELECT v, hex(pad), touched FROM t ORDER BY id");
        output.WriteLine($"{phases.Elapsed.TotalSeconds:0.0} s: converged");
        current = await cluster.WaitForLeaderAsync();
        var values = (await current.QueryAsync(Db, "SELECT v FROM t", consistency: ReadConsistency.Linearizable)).Rows.Select(r => (string)r[0]).ToHashSet();
        Assert.Equal(values.Count, await CountAsync(current, "SELECT n FROM c", ReadConsistency.Linearizable));
        Assert.Subset(values, acknowledged);
        Assert.Subset(attempted, values);
        var lateCommitted = late.Count(values.Contains);
        var leaderKept = current.Id == leader.Id && current.Services.Host.Status.Term == termBefore;
        output.WriteLine($"{(leaderDeposed ? "deposed" : "healed")}: {lateCommitted} of {lateInTail} timed-out inserts in the tail committed; leader kept its term: {leaderKept}; {values.Count} rows; {final.Length} bytes per node after a full checkpoint");
        if (leaderDeposed)
            Assert.Equal(0, lateCommitted); // they never left the old leader
        else if (leaderKept)
            Assert.Equal(lateInTail, lateCommitted);
        // (After a spurious election any prefix of the tail may have committed: the checks above still hold.)
    }

    // ---- 2. a leader deposed with a speculative tail while readers run on it ----------------------

    public enum Isolation
    {
        /// <summary>Nothing passes either way between the old leader and the others.</summary>
        TwoWay,

        /// <summary>The old leader's messages are lost; it hears the new leader (and steps down at once).</summary>
        LeaderCannotSend,

        /// <summary>The old leader's appends arrive but nothing comes back: its entries may commit under the next leader.</summary>
        LeaderCannotHear,

        /// <summary>Cut off both ways, then the old leader stops with its tail in the WAL file and restarts
        /// after the others moved on (the tail must be trimmed at open, never replayed).</summary>
        CrashedWithTail,
    }

    [Theory]
    [InlineData(Isolation.TwoWay)]
    [InlineData(Isolation.LeaderCannotSend)]
    [InlineData(Isolation.LeaderCannotHear)]
    [InlineData(Isolation.CrashedWithTail)]
    public async Task A_deposed_leader_releases_nothing_from_its_speculative_tail_and_converges_to_the_new_leader(Isolation isolation)
    {
        await using var cluster = await LocalCluster.StartAsync(3, configure: o =>
        {
            o.RequestTimeout = TimeSpan.FromSeconds(5); // forwarded reads from the cut-off node give up sooner
            o.HandOverLeadershipOnStop = false;
        });
        var old = await cluster.WaitForLeaderAsync();
        var oldId = old.Id;
        var others = cluster.Running.Where(n => n.Id != old.Id).ToList();
        await old.ExecuteAsync(Db, "CREATE TABLE kv (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)");
        var acknowledged = new ConcurrentDictionary<string, byte>();
        for (var i = 0; i < 10; i++)
        {
            await old.ExecuteAsync(Db, $"INSERT INTO kv (v) VALUES ('c-{i}')");
            acknowledged[$"c-{i}"] = 0;
        }

        // Readers on the old leader at every level, through every read path, and inside transactions.
        const string Sql = "SELECT v FROM kv ORDER BY id";
        var seen = new ConcurrentDictionary<string, string>();
        var stats = new ReadStats();
        var target = new StrongBox<Node>(old); // the old leader, or the same node after its restart
        using var stop = new CancellationTokenSource();
        var readers = new List<Task>();
        foreach (var level in Levels)
        {
            foreach (var path in Paths)
            {
                var name = $"{level}/{path}";
                readers.Add(Task.Run(async () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        var node = target.Value!;
                        await stats.RecordAsync(name, node, async () =>
                        {
                            foreach (var row in await ReadAsync(node, path, level, Db, Sql))
                                seen.TryAdd((string)row[0], name);
                        });
                        await Task.Delay(2);
                    }
                }));
            }
        }
        // A transaction holds the database's writer while it waits for its rows: it steps aside while the
        // speculative writes go in, then reads on top of them.
        using var writerTurn = new SemaphoreSlim(1, 1);
        readers.Add(Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var node = target.Value!;
                await writerTurn.WaitAsync();
                try
                {
                    await stats.RecordAsync("in-transaction", node, async () =>
                    {
                        foreach (var v in await ReadInTransactionAsync(node, Sql))
                            seen.TryAdd(v, "in-transaction");
                    });
                }
                finally
                {
                    writerTurn.Release();
                }
                await Task.Delay(5);
            }
        }));
        await Eventually.TrueAsync(() => stats.AllSucceededAtLeast(3), TimeSpan.FromSeconds(60), "every reader to have read");

        // Cut the leader off and pile several transactions into its tail.
        await writerTurn.WaitAsync();
        var ids = others.Select(n => n.Id).ToList();
        switch (isolation)
        {
            case Isolation.TwoWay or Isolation.CrashedWithTail:
                cluster.Faults.Partition([old.Id], ids);
                break;
            case Isolation.LeaderCannotSend:
                foreach (var id in ids)
                    cluster.Faults.BlockOneWay(old.Id, id);
                break;
            case Isolation.LeaderCannotHear:
                foreach (var id in ids)
                    cluster.Faults.BlockOneWay(id, old.Id);
                break;
        }
        var speculative = Enumerable.Range(0, 8).Select(i => $"spec-{i}").ToList();
        var specWrites = speculative.Select(v => Outcome(old.ExecuteAsync(Db, $"INSERT INTO kv (v) VALUES ('{v}')"))).ToList();
        // The tail really holds several transactions (read past the output gate, as no client can).
        long inTail = 0;
        await Eventually.TrueAsync(() =>
        {
            inTail = Math.Max(inTail, PeekCount(old, "SELECT count(*) FROM kv WHERE v LIKE 'spec-%'"));
            return inTail == speculative.Count || specWrites.All(w => w.IsCompleted);
        }, TimeSpan.FromSeconds(30), "speculative transactions in the old leader's tail");
        writerTurn.Release();
        if (isolation == Isolation.CrashedWithTail)
        {
            // Stop it now, tail and all (its readers and writers fail with it).
            output.WriteLine($"node {old.Id} stops while {(old.IsLeader ? "leading" : "following")}, {specWrites.Count(w => !w.IsCompleted)} speculative writes pending");
            stats.NodeStopped = true;
            await cluster.StopNodeAsync(old.Id);
        }
        else
        {
            // Checkpoints meanwhile (as the engine's maintenance runs them) must stop at the commit point.
            var engine = old.Services.Host.Engine;
            var checkpointed = await Task.Run(() => engine.Checkpoint(Db, truncate: true));
            Assert.False(checkpointed && PeekCount(old, "SELECT count(*) FROM kv WHERE v LIKE 'spec-%'") > 0, "a full checkpoint finished with a speculative tail");
        }

        // The rest elects a leader and takes writes.
        await Eventually.TrueAsync(() => others.Any(n => n.IsLeader && n.Services.Host.Status.AcceptsWrites),
            TimeSpan.FromSeconds(60), "a new leader among the others");
        var successor = others.First(n => n.IsLeader);
        for (var i = 0; i < 5; i++)
        {
            await successor.ExecuteAsync(Db, $"INSERT INTO kv (v) VALUES ('new-{i}')");
            acknowledged[$"new-{i}"] = 0;
        }
        var specOutcomes = await Task.WhenAll(specWrites).WaitAsync(TimeSpan.FromSeconds(90));
        if (stats.NodeStopped)
        {
            target.Value = old = await cluster.StartNodeAsync(oldId); // the partition still holds until the heal
            stats.NodeStopped = false;
        }
        Assert.False(old.IsLeader);
        var readsBeforeHeal = stats.Successes;

        cluster.Faults.Heal();
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60));
        var caughtUp = leader.AppliedIndex;
        await Eventually.TrueAsync(() => old.AppliedIndex >= caughtUp, TimeSpan.FromSeconds(60), "the old leader to catch up");
        // Readers go on while the old leader follows; then stop them.
        await Eventually.TrueAsync(() => stats.Successes >= readsBeforeHeal + 50, TimeSpan.FromSeconds(60), "reads after healing");
        await stop.CancelAsync();
        await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(90));

        var history = (await leader.QueryAsync(Db, Sql, consistency: ReadConsistency.Linearizable)).Rows.Select(r => (string)r[0]).ToHashSet();
        output.WriteLine($"{isolation}: {inTail} speculative rows seen in the tail; speculative writes: {string.Join(", ", specOutcomes.Select(o => o?.ToString() ?? "ok"))}");
        output.WriteLine($"committed history: {history.Count} rows, {speculative.Count(history.Contains)} of them speculative");
        output.WriteLine("old leader's tail events: " + string.Join("; ", cluster.Events[oldId].Messages.Where(m => m.StartsWith("2010:", StringComparison.Ordinal) || m.StartsWith("2011:", StringComparison.Ordinal))));
        output.WriteLine(stats.Report());
        Assert.True(inTail >= 2, $"only {inTail} speculative transactions reached the tail");
        Assert.True(cluster.Events[oldId].Saw(2010), "the old leader never cut its tail");
        if (isolation == Isolation.CrashedWithTail)
            Assert.True(cluster.Events[oldId].Saw(2011), "the restarted node did not trim its WAL to the durable record");

        // Nothing a client received is missing from the new leader's history.
        Assert.Empty(seen.Where(s => !history.Contains(s.Key)).Select(s => $"{s.Key} (read by {s.Value})"));
        Assert.Empty(specOutcomes.Select((o, i) => (o, v: speculative[i])).Where(x => x.o is null && !history.Contains(x.v)).Select(x => x.v));
        Assert.Subset(history, acknowledged.Keys.ToHashSet());
        if (isolation != Isolation.LeaderCannotHear)
        {
            // The speculative entries never left the old leader: every one was cut, none acknowledged.
            Assert.All(specOutcomes, o => Assert.NotNull(o));
            Assert.DoesNotContain(speculative, history.Contains);
        }
        foreach (var level in Levels)
            Assert.True(stats.SucceededFor(level), $"no {level} read ever succeeded on the old leader");

        await ConvergeAsync(cluster, Sql);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_transaction_whose_read_waits_for_the_tail_releases_nothing_speculative_to_its_next_reads(bool pipelined)
    {
        await using var cluster = await LocalCluster.StartAsync(3, configure: o =>
        {
            // The cut-off leader keeps its tail (and leads) for seconds: check-quorum waits an election timeout.
            o.ElectionTimeout = TimeSpan.FromSeconds(4);
            o.HandOverLeadershipOnStop = false;
        });
        var old = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60));
        var others = cluster.Running.Where(n => n.Id != old.Id).ToList();
        await old.ExecuteAsync(Db, "CREATE TABLE kv (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)");
        for (var i = 0; i < 5; i++)
            await old.ExecuteAsync(Db, $"INSERT INTO kv (v) VALUES ('c-{i}')");

        cluster.Faults.Partition([old.Id], others.Select(n => n.Id).ToList());
        var spec = Outcome(old.ExecuteAsync(Db, "INSERT INTO kv (v) VALUES ('spec')"));
        await Eventually.TrueAsync(() => PeekCount(old, "SELECT count(*) FROM kv WHERE v = 'spec'") == 1, TimeSpan.FromSeconds(30), "the write in the tail");

        // A client reads inside a transaction while the rows wait for the tail. Either it sends its next read
        // before the first is answered (the protocol serves a session's requests concurrently), or it gives up
        // on the first (e.g. the provider's CommandTimeout) and reads again in the still open transaction.
        await using var session = old.CreateSession();
        var tx = (await session.HandleAsync(new ClientRequest { Begin = new BeginRequest { Database = Db } }, CancellationToken.None))
            .ThrowIfError().TransactionStarted.TransactionId;
        const string Sql = "SELECT v FROM kv ORDER BY id";
        var reads = new List<Task<List<object[]>>>();
        if (pipelined)
        {
            reads.Add(QueryInAsync(session, tx, Sql));
            reads.Add(QueryInAsync(session, tx, Sql));
        }
        else
        {
            using (var impatient = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
            {
                var gaveUp = await Record.ExceptionAsync(() => QueryInAsync(session, tx, Sql, impatient.Token));
                Assert.True(gaveUp is OperationCanceledException or RaftSqlException, $"the first read returned while its rows depended on the tail: {gaveUp}");
            }
            reads.Add(QueryInAsync(session, tx, Sql));
        }
        await Task.WhenAny(Task.WhenAll(reads), Task.Delay(TimeSpan.FromMilliseconds(500)));
        output.WriteLine($"{reads.Count(r => r.IsCompletedSuccessfully)} of {reads.Count} reads in the transaction returned while node {old.Id} still led ({old.IsLeader}) with its write uncommitted ({!spec.IsCompleted})");

        // The others elect a leader and write on; the old leader's tail is cut, the speculative row never commits.
        await Eventually.TrueAsync(() => others.Any(n => n.IsLeader && n.Services.Host.Status.AcceptsWrites), TimeSpan.FromSeconds(60), "a new leader");
        await others.First(n => n.IsLeader).ExecuteAsync(Db, "INSERT INTO kv (v) VALUES ('new')");
        cluster.Faults.Heal();
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60));
        var history = (await leader.QueryAsync(Db, Sql, consistency: ReadConsistency.Linearizable)).Rows.Select(r => (string)r[0]).ToHashSet();
        Assert.DoesNotContain("spec", history);
        Assert.NotNull(await spec.WaitAsync(TimeSpan.FromSeconds(60)));
        foreach (var read in reads)
        {
            List<object[]> rows;
            try
            {
                rows = await read.WaitAsync(TimeSpan.FromSeconds(60));
            }
            catch (RaftSqlException ex)
            {
                output.WriteLine($"a read in the transaction failed with {ex.Code}");
                continue;
            }
            Assert.All(rows.Select(r => (string)r[0]), v => Assert.True(history.Contains(v), $"the transaction returned '{v}', which never committed"));
        }
        await ConvergeAsync(cluster, Sql);
    }

    // ---- 3. readers on the leader see only committed states ---------------------------------------

    [Fact]
    public async Task Readers_at_every_level_see_only_committed_states_of_a_bank_and_a_register_through_leader_changes()
    {
        await using var cluster = await LocalCluster.StartAsync(3, configure: o =>
        {
            o.HandOverLeadershipOnStop = false; // the leader crashes
            o.RequestTimeout = TimeSpan.FromSeconds(5); // forwarded requests from a cut-off node give up sooner
        });
        var leader0 = await cluster.WaitForLeaderAsync();
        const int Accounts = 8;
        const long Total = Accounts * 1000;
        await leader0.ExecuteAsync(Db, "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)");
        await leader0.ExecuteAsync(Db, $"WITH RECURSIVE k(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM k WHERE id < {Accounts}) INSERT INTO accounts (id, balance) SELECT id, 1000 FROM k");
        await leader0.ExecuteAsync(Db, "CREATE TABLE reg (id INTEGER PRIMARY KEY CHECK (id = 1), tag TEXT NOT NULL, n INTEGER NOT NULL)");
        await leader0.ExecuteAsync(Db, "INSERT INTO reg VALUES (1, 'init', 0)");
        // Every register write is logged in the same transaction: the log is the committed history.
        await leader0.ExecuteAsync(Db, "CREATE TABLE log (n INTEGER PRIMARY KEY, tag TEXT NOT NULL UNIQUE)");
        await leader0.ExecuteAsync(Db, "CREATE TRIGGER reg_log AFTER UPDATE ON reg BEGIN INSERT INTO log (n, tag) VALUES (NEW.n, NEW.tag); END");

        var live = new LiveNodes(cluster.Running);
        var history = new History();
        using var stop = new CancellationTokenSource();
        var workers = new List<Task>();

        // Register writers through any node, each followed by a Session read of its own write on that node.
        for (var w = 0; w < 2; w++)
        {
            var writer = w;
            workers.Add(Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var tag = $"w{writer}-{i}";
                    var node = live.Any();
                    history.Attempted[tag] = 0;
                    await history.RunAsync(live, node, "register write", async () =>
                    {
                        var start = Stopwatch.GetTimestamp();
                        await node.ExecuteAsync(Db, "UPDATE reg SET tag = @tag, n = n + 1", new Dictionary<string, object?> { ["@tag"] = tag });
                        history.Acknowledged.Add(new Acked(tag, start, Stopwatch.GetTimestamp()));
                        var own = await node.QueryAsync(Db, "SELECT n FROM reg", consistency: ReadConsistency.Session);
                        history.OwnReads.Add((tag, (long)own.Scalar!));
                    });
                    await Task.Delay(2);
                }
            }));
        }
        // Transfers as single statements through any node.
        for (var w = 0; w < 2; w++)
        {
            var random = new Random(w);
            workers.Add(Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var (a, b, x) = Transfer(random, Accounts);
                    var node = live.Any();
                    await history.RunAsync(live, node, "transfer", () => node.ExecuteAsync(Db,
                        "UPDATE accounts SET balance = balance + CASE WHEN id = @a THEN -@x ELSE @x END WHERE id IN (@a, @b)",
                        new Dictionary<string, object?> { ["@a"] = a, ["@b"] = b, ["@x"] = x }));
                    await Task.Delay(2);
                }
            }));
        }
        // Transfers in interactive transactions on the leader, reading inside; one in five rolls back.
        workers.Add(Task.Run(async () =>
        {
            var random = new Random(7);
            while (!stop.IsCancellationRequested)
            {
                var (a, b, x) = Transfer(random, Accounts);
                var node = live.Leader();
                await history.RunAsync(live, node, "interactive transfer", async () =>
                {
                    await using var session = node.CreateSession();
                    var tx = (await session.HandleAsync(new ClientRequest { Begin = new BeginRequest { Database = Db } }, CancellationToken.None))
                        .ThrowIfError().TransactionStarted.TransactionId;
                    await ExecuteInAsync(session, tx, "UPDATE accounts SET balance = balance - @x WHERE id = @a", ("@a", a), ("@x", x));
                    var inside = await QueryInAsync(session, tx, "SELECT sum(balance) FROM accounts");
                    history.InsideReads.Add((Total - x, (long)inside[0][0]));
                    await ExecuteInAsync(session, tx, "UPDATE accounts SET balance = balance + @x WHERE id = @b", ("@b", b), ("@x", x));
                    var end = random.Next(5) == 0
                        ? new ClientRequest { Rollback = new RollbackRequest { TransactionId = tx } }
                        : new ClientRequest { Commit = new CommitRequest { TransactionId = tx } };
                    (await session.HandleAsync(end, CancellationToken.None)).ThrowIfError();
                });
                await Task.Delay(2);
            }
        }));
        // Readers: on the leader at every level through every path, and on any node at every level.
        const string Sql = "SELECT (SELECT sum(balance) FROM accounts), (SELECT tag FROM reg), (SELECT n FROM reg), (SELECT count(*) FROM log), (SELECT coalesce(max(n), 0) FROM log)";
        var readerId = 0;
        foreach (var level in Levels)
        {
            foreach (var (path, onLeader) in Paths.Select(p => (p, true)).Append((ReadPath.Node, false)))
            {
                var id = readerId++;
                workers.Add(Task.Run(async () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        var node = onLeader ? live.Leader() : live.Any();
                        await history.RunAsync(live, node, $"{level} read", async () =>
                        {
                            var start = Stopwatch.GetTimestamp();
                            var applied = node.AppliedIndex;
                            var leading = node.IsLeader;
                            var row = (await ReadAsync(node, path, level, Db, Sql)).Single();
                            history.Reads.Add(new Observed(id, level, path, node, live.Incarnation(node), start, Stopwatch.GetTimestamp(),
                                (long)row[0], (string)row[1], (long)row[2], (long)row[3], (long)row[4], applied, node.AppliedIndex, leading));
                        });
                        await Task.Delay(3);
                    }
                }));
            }
        }

        async Task ProgressAsync(string what)
        {
            var target = history.Acknowledged.Count + 20;
            await Eventually.TrueAsync(() => history.Acknowledged.Count >= target, TimeSpan.FromSeconds(90), $"register writes to go on ({what})");
            output.WriteLine($"{Stopwatch.GetElapsedTime(Origin).TotalMilliseconds:0} ms, {what}: {history.Acknowledged.Count} register writes acknowledged, {history.Reads.Count} reads");
        }

        async Task<Node> LeaderAsync() =>
            await WaitForAsync(() => live.All.FirstOrDefault(n => n.IsLeader && n.Services.Host.Status.AcceptsWrites), TimeSpan.FromSeconds(60), "a leader");

        await ProgressAsync("start");
        for (var t = 0; t < 2; t++)
        {
            var from = await LeaderAsync();
            var to = live.All.First(n => n.Id != from.Id).Id;
            try
            {
                await from.Services.TransferLeadershipAsync(to, CancellationToken.None);
            }
            catch (RaftSqlException ex)
            {
                output.WriteLine($"transfer {from.Id} -> {to}: {ex.Code}");
            }
            await ProgressAsync($"transfer {from.Id} -> {to}");
        }

        // The leader crashes (no hand-over); it restarts later from its data directory.
        var victim = await LeaderAsync();
        live.Remove(victim);
        await cluster.StopNodeAsync(victim.Id);
        await ProgressAsync($"node {victim.Id} crashed while leading");
        live.Add(await cluster.StartNodeAsync(victim.Id), live.Incarnation(victim) + 1);
        await ProgressAsync($"node {victim.Id} restarted");

        // The leader is cut off while it takes writes and serves reads; the others go on; heal. Then again,
        // one way: its appends still arrive, so its tail may commit under the next leader.
        foreach (var twoWay in new[] { true, false })
        {
            var cut = await LeaderAsync();
            var rest = live.All.Where(n => n.Id != cut.Id).ToList();
            if (twoWay)
                cluster.Faults.Partition([cut.Id], rest.Select(n => n.Id).ToList());
            else
                foreach (var other in rest)
                    cluster.Faults.BlockOneWay(other.Id, cut.Id);
            await Eventually.TrueAsync(() => rest.Any(n => n.IsLeader), TimeSpan.FromSeconds(60), "a leader among the others");
            await ProgressAsync($"node {cut.Id} cut off while leading ({(twoWay ? "both ways" : "it hears nothing")})");
            cluster.Faults.Heal();
            await ProgressAsync("healed");
        }

        await stop.CancelAsync();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(120));
        output.WriteLine(history.Report());

        await ConvergeAsync(cluster, "SELECT id, balance FROM accounts ORDER BY id; SELECT n, tag FROM log ORDER BY n; SELECT tag, n FROM reg");
        var leader = await cluster.WaitForLeaderAsync();
        var log = (await leader.QueryAsync(Db, "SELECT n, tag FROM log ORDER BY n", consistency: ReadConsistency.Linearizable)).Rows
            .ToDictionary(r => (long)r[0], r => (string)r[1]);
        var position = log.ToDictionary(p => p.Value, p => p.Key);
        Assert.Equal(Enumerable.Range(1, log.Count).Select(i => (long)i), log.Keys.Order());
        Assert.Equal(Total, await CountAsync(leader, "SELECT sum(balance) FROM accounts", ReadConsistency.Linearizable));
        Assert.Subset(history.Attempted.Keys.ToHashSet(), position.Keys.ToHashSet());

        var failures = new List<string>();
        foreach (var acked in history.Acknowledged.Where(a => !position.ContainsKey(a.Tag)))
            failures.Add($"acknowledged register write {acked.Tag} is not in the committed history");
        foreach (var (tag, n) in history.OwnReads.Where(r => r.N < position.GetValueOrDefault(r.Tag, long.MaxValue)))
            failures.Add($"a Session read after writing {tag} (committed as #{position.GetValueOrDefault(tag)}) saw #{n}");
        foreach (var (expected, actual) in history.InsideReads.Where(r => r.Expected != r.Actual))
            failures.Add($"a read inside a transaction summed {actual}, not {expected}");
        var reads = history.Reads.ToList();
        foreach (var r in reads)
        {
            if (r.Sum != Total)
                failures.Add($"{r} summed {r.Sum}, not {Total}");
            if (r.N != r.Count || r.N != r.Max)
                failures.Add($"{r} is not one transaction's state: n {r.N}, {r.Count} log rows, last #{r.Max}");
            var committed = r.N == 0 ? "init" : log.GetValueOrDefault(r.N);
            if (committed != r.Tag)
                failures.Add($"{r} saw register {r.Tag} as #{r.N}, which the committed history has as {committed ?? "nothing"}"
                    + (history.Attempted.ContainsKey(r.Tag) || r.Tag == "init" ? "" : " (never written)"));
        }
        // On one node, Local and Session reads never go back (nothing speculative is ever shown, then cut).
        foreach (var group in reads.Where(r => r.Level is ReadConsistency.Local or ReadConsistency.Session).GroupBy(r => (r.Reader, r.Node)))
        {
            Observed? highest = null;
            foreach (var r in group.OrderBy(r => r.Start))
            {
                if (highest is not null && r.N < highest.N)
                    failures.Add($"{r} saw #{r.N} after {highest} had seen #{highest.N} on the same node");
                if (highest is null || r.N > highest.N)
                    highest = r;
            }
        }
        // Lease and Linearizable reads are linearizable: none misses a write acknowledged, or a state read
        // at those levels, before it started.
        var before = reads.Where(r => r.Level is ReadConsistency.Lease or ReadConsistency.Linearizable)
            .Select(r => (r.End, N: r.N, What: r.ToString()))
            .Concat(history.Acknowledged.Where(a => position.ContainsKey(a.Tag)).Select(a => (a.End, N: position[a.Tag], What: $"write {a.Tag}")))
            .OrderBy(e => e.End).ToList();
        var next = 0;
        (long N, string What) latest = (0, "nothing");
        foreach (var r in reads.Where(r => r.Level is ReadConsistency.Lease or ReadConsistency.Linearizable).OrderBy(r => r.Start))
        {
            for (; next < before.Count && before[next].End < r.Start; next++)
            {
                if (before[next].N > latest.N)
                    latest = (before[next].N, before[next].What);
            }
            if (r.N < latest.N)
                failures.Add($"{r} saw #{r.N} after {latest.What} (#{latest.N}) had completed");
        }
        foreach (var level in Levels)
            Assert.True(reads.Count(r => r.Level == level) >= 20, $"only {reads.Count(r => r.Level == level)} {level} reads succeeded");
        Assert.True(history.Acknowledged.Count >= 90, $"only {history.Acknowledged.Count} register writes were acknowledged");
        if (failures.Count > 0)
        {
            foreach (var (id, events) in cluster.Events.OrderBy(e => e.Key))
                output.WriteLine($"node {id} events:\n  " + string.Join("\n  ", events.Messages.Where(m => !m.Contains("role", StringComparison.OrdinalIgnoreCase) || m.Contains("Leader", StringComparison.Ordinal))));
        }
        Assert.True(failures.Count == 0, $"{failures.Count} violations:\n" + string.Join("\n", failures.Take(40)));
        Assert.Empty(history.Unexpected);
    }

    // ---- 4. a node restarting from its data directory ------------------------------------------------

    /// <summary>A restarted node starts from what its files hold durably (possibly behind what it showed
    /// before it stopped: the log replays the rest); it serves no read before it has replayed up to where it
    /// was, and from then on shows committed states, in order.</summary>
    [Fact]
    public async Task A_node_restarted_after_a_stop_shows_only_committed_states_in_order_while_it_catches_up()
    {
        await using var cluster = await LocalCluster.StartAsync(3);
        var leader = await cluster.WaitForLeaderAsync();
        // Two rows on two pages, written in turns: every committed state has b = a or b = a - 1.
        await leader.ExecuteAsync(Db, "CREATE TABLE a (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)");
        await leader.ExecuteAsync(Db, "CREATE TABLE b (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)");
        await leader.ExecuteAsync(Db, "INSERT INTO a VALUES (1, 0)");
        await leader.ExecuteAsync(Db, "INSERT INTO b VALUES (1, 0)");
        var follower = cluster.Running.First(n => n.Id != leader.Id);
        var failures = new List<string>();
        var step = 0;
        for (var cycle = 0; cycle < 3; cycle++)
        {
            // A burst of writes, then the follower stops at once (its durable record lags behind what it applied).
            for (var i = 0; i < 150; i++, step++)
                await leader.ExecuteAsync(Db, step % 2 == 0 ? $"UPDATE a SET v = {step / 2 + 1}" : $"UPDATE b SET v = {step / 2 + 1}");
            var target = leader.AppliedIndex;
            await Eventually.TrueAsync(() => follower.AppliedIndex >= target, TimeSpan.FromSeconds(30), "the follower to apply the burst");
            var before = await follower.QueryAsync(Db, "SELECT (SELECT v FROM a), (SELECT v FROM b)", consistency: ReadConsistency.Local);
            var seenBefore = (long)before.Rows[0][0];
            await cluster.StopNodeAsync(follower.Id);
            // Read it from the moment it is back until it caught up, and a little longer.
            follower = await cluster.StartNodeAsync(follower.Id);
            var states = new List<(long A, long B, ulong Applied)>();
            var clock = Stopwatch.StartNew();
            TimeSpan? caughtUp = null;
            while (caughtUp is null || clock.Elapsed < caughtUp + TimeSpan.FromMilliseconds(200))
            {
                try
                {
                    var row = (await follower.QueryAsync(Db, "SELECT (SELECT v FROM a), (SELECT v FROM b)", consistency: ReadConsistency.Local)).Rows[0];
                    states.Add(((long)row[0], (long)row[1], follower.AppliedIndex));
                }
                catch (RaftSqlException ex) when (ex.Code is RaftSqlErrorCode.SqlError or RaftSqlErrorCode.UnknownDatabase
                    && (ex.Message.Contains("no such table", StringComparison.Ordinal) || ex.Code == RaftSqlErrorCode.UnknownDatabase))
                {
                    states.Add((-1, -1, follower.AppliedIndex)); // a state from before the tables were created
                }
                if (caughtUp is null && follower.AppliedIndex >= target)
                    caughtUp = clock.Elapsed;
                if (clock.Elapsed > TimeSpan.FromSeconds(30))
                    throw new TimeoutException("The restarted node did not catch up in 30 s.");
            }
            var started = cluster.Events[follower.Id].Messages.Last(m => m.StartsWith("4009:", StringComparison.Ordinal));
            output.WriteLine($"cycle {cycle}: saw a = {seenBefore} before the stop; {started}; {states.Count} reads after, first a = {states[0].A}, lowest a = {states.Min(s => s.A)}, last a = {states[^1].A}");
            var highest = seenBefore;
            foreach (var (a, b, applied) in states)
            {
                if (b > a || b < a - 1)
                    failures.Add($"cycle {cycle}: read a = {a}, b = {b} (applied {applied}): no committed state has these together");
                if (a < highest)
                    failures.Add($"cycle {cycle}: read a = {a} (applied {applied}) after a = {highest} on the same node");
                highest = Math.Max(highest, a);
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} violations:\n" + string.Join("\n", failures.Take(20)));
        await ConvergeAsync(cluster, "SELECT (SELECT v FROM a), (SELECT v FROM b)");
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private static readonly ReadConsistency[] Levels = [ReadConsistency.Local, ReadConsistency.Session, ReadConsistency.Lease, ReadConsistency.Linearizable];

    private static readonly ReadPath[] Paths = [ReadPath.Node, ReadPath.Session, ReadPath.Provider];

    /// <summary>How a client reads from a node hosted in its process.</summary>
    internal enum ReadPath
    {
        /// <summary><see cref="Node.QueryAsync"/>.</summary>
        Node,

        /// <summary>The client protocol's session in process (what the provider sends its requests to): a
        /// cursor fetched in pages of two rows, each page released on its own.</summary>
        Session,

        /// <summary>What the ADO.NET provider's in-process channel does for a read: prepare the level, then
        /// read a pooled connection of the node directly, rows released once what they saw is committed.</summary>
        Provider,
    }

    internal static async Task<IReadOnlyList<object[]>> ReadAsync(Node node, ReadPath path, ReadConsistency level, string database, string sql)
    {
        switch (path)
        {
            case ReadPath.Node:
                return (await node.QueryAsync(database, sql, consistency: level)).Rows;
            case ReadPath.Session:
            {
                await using var session = node.CreateSession();
                var request = new ClientRequest { Query = new QueryRequest { Database = database, Sql = sql, Consistency = WireMapper.ToWire(level), PageSize = 2 } };
                var rows = new List<object[]>();
                var response = (await session.HandleAsync(request, CancellationToken.None)).ThrowIfError();
                while (true)
                {
                    var page = response.RowPage ?? throw new InvalidOperationException($"Unexpected {response.ResponseCase}");
                    rows.AddRange(page.Rows.Select(r => r.Values.Select(SqlValues.FromWire).ToArray()));
                    if (page.Done)
                        return rows;
                    var fetch = new ClientRequest { FetchPage = new FetchPageRequest { CursorId = page.CursorId, PageSize = 2 } };
                    response = (await session.HandleAsync(fetch, CancellationToken.None)).ThrowIfError();
                }
            }
            default:
            {
                var services = node.Services;
                if (!(await services.Router.PrepareLocalReadAsync(database, level, 0, CancellationToken.None)).Here)
                    return (await services.Router.ForwardQueryAsync(database, sql, [], level, CancellationToken.None)).Rows;
                var connection = services.Databases.RentReader(database);
                try
                {
                    var command = StatementCache.Get(connection, sql);
                    SqlValues.Rebind(command, []);
                    using var reader = command.ExecuteReader();
                    await services.Databases.WhenVisibleCommitted(connection);
                    var rows = new List<object[]>();
                    while (reader.Read())
                        rows.Add(SqlValues.ReadRow(reader));
                    return rows;
                }
                catch (SqliteException ex)
                {
                    throw ex.ToRaftSqlException();
                }
                finally
                {
                    services.Databases.ReturnReader(database, connection);
                }
            }
        }
    }

    /// <summary>Reads inside an interactive transaction on <paramref name="node"/> (it must lead), then rolls back.</summary>
    private static async Task<List<string>> ReadInTransactionAsync(Node node, string sql)
    {
        await using var session = node.CreateSession();
        var tx = (await session.HandleAsync(new ClientRequest { Begin = new BeginRequest { Database = Db } }, CancellationToken.None))
            .ThrowIfError().TransactionStarted.TransactionId;
        var rows = await QueryInAsync(session, tx, sql);
        (await session.HandleAsync(new ClientRequest { Rollback = new RollbackRequest { TransactionId = tx } }, CancellationToken.None)).ThrowIfError();
        return rows.Select(r => (string)r[0]).ToList();
    }

    private static async Task<List<object[]>> QueryInAsync(ClientSession session, ulong tx, string sql, CancellationToken cancellationToken = default)
    {
        var rows = new List<object[]>();
        var response = (await session.HandleAsync(new ClientRequest { Query = new QueryRequest { Database = Db, Sql = sql, TransactionId = tx, PageSize = 2 } }, cancellationToken)).ThrowIfError();
        while (true)
        {
            rows.AddRange(response.RowPage.Rows.Select(r => r.Values.Select(SqlValues.FromWire).ToArray()));
            if (response.RowPage.Done)
                return rows;
            response = (await session.HandleAsync(new ClientRequest { FetchPage = new FetchPageRequest { CursorId = response.RowPage.CursorId, PageSize = 2 } }, cancellationToken)).ThrowIfError();
        }
    }

    private static async Task ExecuteInAsync(ClientSession session, ulong tx, string sql, params (string Name, object Value)[] parameters)
    {
        var execute = new ExecuteRequest { Database = Db, Sql = sql, TransactionId = tx };
        execute.Parameters.AddRange(parameters.Select(p => SqlValues.ToWireParameter(p.Name, p.Value)));
        (await session.HandleAsync(new ClientRequest { Execute = execute }, CancellationToken.None)).ThrowIfError();
    }

    private static (long A, long B, long X) Transfer(Random random, int accounts)
    {
        var a = random.Next(1, accounts + 1);
        var b = random.Next(1, accounts);
        return (a, b >= a ? b + 1 : b, random.Next(1, 50));
    }

    /// <summary>Null when the write was acknowledged, else its error code.</summary>
    private static async Task<RaftSqlErrorCode?> Outcome(Task write)
    {
        try
        {
            await write;
            return null;
        }
        catch (RaftSqlException ex)
        {
            return ex.Code;
        }
    }

    /// <summary>A setup write that must take effect; idempotent statements only (retried when its outcome is unknown).</summary>
    private static async Task SurelyAsync(Node node, string sql)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                await node.ExecuteAsync(Db, sql);
                return;
            }
            catch (RaftSqlException ex) when (ex.Code is RaftSqlErrorCode.Timeout or RaftSqlErrorCode.OutcomeUnknown or RaftSqlErrorCode.NoLeader && DateTime.UtcNow < deadline)
            {
            }
        }
    }

    /// <summary>Inserts fresh rows through <paramref name="node"/> until <paramref name="count"/> were acknowledged
    /// (a write whose outcome is unknown counts as attempted only).</summary>
    private static async Task WriteUntilAcknowledgedAsync(Node node, string prefix, int count, HashSet<string> attempted, HashSet<string> acknowledged)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        for (int i = 0, done = 0; done < count; i++)
        {
            var v = $"{prefix}-{i}";
            attempted.Add(v);
            try
            {
                await node.ExecuteAsync(Db, $"INSERT INTO t (v, pad) VALUES ('{v}', randomblob(900))");
                acknowledged.Add(v);
                done++;
            }
            catch (RaftSqlException ex) when (ex.Code is RaftSqlErrorCode.Timeout or RaftSqlErrorCode.OutcomeUnknown or RaftSqlErrorCode.NoLeader && DateTime.UtcNow < deadline)
            {
            }
        }
    }

    private static async Task<long> CountAsync(Node node, string sql, ReadConsistency level) =>
        (long)(await node.QueryAsync(Db, sql, consistency: level)).Scalar!;

    /// <summary>A linearizable count, or -1 when the read failed (no leader yet, ...).</summary>
    private static async Task<long> TryCountAsync(Node node, string sql)
    {
        try
        {
            return await CountAsync(node, sql, ReadConsistency.Linearizable);
        }
        catch (RaftSqlException)
        {
            return -1;
        }
    }

    private static async Task<T> WaitForAsync<T>(Func<T?> find, TimeSpan timeout, string what) where T : class
    {
        T? found = null;
        await Eventually.TrueAsync(() => (found = find()) is not null, timeout, what);
        return found!;
    }

    /// <summary>Reads <paramref name="node"/>'s files past the output gate (its speculative tail included), as no client can.</summary>
    private static long PeekCount(Node node, string sql)
    {
        using var connection = node.Services.Host.Engine.OpenConnection(Db, readOnly: true);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>
    /// Every running node applied the same index; each passes <c>PRAGMA integrity_check</c> and returns the
    /// same rows for <paramref name="contentSql"/>; after a full checkpoint (the WAL copied back and emptied)
    /// their database files are byte-identical. Returns the leader's file.
    /// </summary>
    private async Task<byte[]> ConvergeAsync(LocalCluster cluster, string contentSql)
    {
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60));
        await SurelyAsync(leader, "PRAGMA user_version"); // once it runs, the leader applied every earlier entry
        var target = leader.AppliedIndex;
        var nodes = cluster.Running.ToList();
        await Eventually.TrueAsync(() => nodes.All(n => n.AppliedIndex >= target), TimeSpan.FromSeconds(60), "every node to apply the same index");
        string? reference = null;
        foreach (var node in nodes)
        {
            var check = await node.QueryAsync(Db, "PRAGMA integrity_check", consistency: ReadConsistency.Local);
            Assert.Equal("ok", Assert.Single(check.Rows)[0]);
            var content = string.Join("\n", (await node.QueryAsync(Db, contentSql, consistency: ReadConsistency.Local)).Rows
                .Select(r => string.Join("|", r.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)))));
            reference ??= content;
            Assert.True(reference == content, $"node {node.Id}'s content differs from node {nodes[0].Id}'s");
        }
        var files = new Dictionary<ulong, byte[]>();
        foreach (var node in nodes)
        {
            var engine = node.Services.Host.Engine;
            await Eventually.TrueAsync(() => Task.Run(() => engine.Checkpoint(Db, truncate: true)), TimeSpan.FromSeconds(60), $"a full checkpoint on node {node.Id}");
            files[node.Id] = engine.ReadDatabaseFile(Db);
        }
        foreach (var (id, bytes) in files)
            Assert.True(bytes.AsSpan().SequenceEqual(files[leader.Id]), $"node {id}'s database file ({bytes.Length} bytes) differs from the leader's ({files[leader.Id].Length} bytes) after a full checkpoint");
        return files[leader.Id];
    }

    /// <summary>Successful and failed reads per reader, by error code.</summary>
    private sealed class ReadStats
    {
        private readonly ConcurrentDictionary<string, int> _successes = new();
        private readonly ConcurrentDictionary<string, int> _failures = new();
        private int _total;

        public int Successes => Volatile.Read(ref _total);

        /// <summary>Set while the node read from is stopped: anything may fail then.</summary>
        public volatile bool NodeStopped;

        public async Task RecordAsync(string reader, Node node, Func<Task> read)
        {
            _successes.TryAdd(reader, 0);
            try
            {
                await read();
                _successes.AddOrUpdate(reader, 1, (_, n) => n + 1);
                Interlocked.Increment(ref _total);
            }
            catch (RaftSqlException ex)
            {
                _failures.AddOrUpdate($"{reader} {ex.Code} (node {node.Id} {(node.IsLeader ? "leading" : "following")})", 1, (_, n) => n + 1);
            }
            catch (Exception ex) when (NodeStopped)
            {
                _failures.AddOrUpdate($"{reader} {ex.GetType().Name} (node {node.Id} stopped)", 1, (_, n) => n + 1);
            }
        }

        public bool AllSucceededAtLeast(int count) => _successes.Count > 0 && _successes.Values.All(n => n >= count);

        public bool SucceededFor(ReadConsistency level) => _successes.Any(s => s.Key.StartsWith($"{level}/", StringComparison.Ordinal) && s.Value > 0);

        public string Report() =>
            "reads: " + string.Join(", ", _successes.OrderBy(s => s.Key).Select(s => $"{s.Key} {s.Value}"))
            + "\nfailed reads: " + string.Join(", ", _failures.OrderBy(s => s.Key).Select(s => $"{s.Key} x{s.Value}"));
    }

    /// <summary>The nodes a workload may use (a crashed one is taken out before it stops).</summary>
    private sealed class LiveNodes(IEnumerable<Node> nodes)
    {
        private readonly Lock _lock = new();
        private readonly ConditionalWeakTable<Node, object> _incarnations = [];
        private Node[] _nodes = [.. nodes];

        /// <summary>1 for a node's first start, 2 after its first restart, ...</summary>
        public int Incarnation(Node node) => _incarnations.TryGetValue(node, out var n) ? (int)n : 1;

        public Node[] All => Volatile.Read(ref _nodes);

        public Node Any() => All[Random.Shared.Next(All.Length)];

        /// <summary>The node that believes it leads (a deposed one may, for a while), else any.</summary>
        public Node Leader() => All.FirstOrDefault(n => n.IsLeader) ?? Any();

        public bool IsLive(Node node) => All.Contains(node);

        public void Remove(Node node)
        {
            lock (_lock)
                Volatile.Write(ref _nodes, [.. _nodes.Where(n => n != node)]);
        }

        public void Add(Node node, int incarnation)
        {
            _incarnations.AddOrUpdate(node, incarnation);
            lock (_lock)
                Volatile.Write(ref _nodes, [.. _nodes, node]);
        }
    }

    private sealed record Acked(string Tag, long Start, long End);

    private sealed record Observed(int Reader, ReadConsistency Level, ReadPath Path, Node Node, int Incarnation, long Start, long End,
        long Sum, string Tag, long N, long Count, long Max, ulong AppliedBefore, ulong AppliedAfter, bool Leading)
    {
        public override string ToString() =>
            $"reader {Reader} ({Level} via {Path} on node {Node.Id}#{Incarnation}{(Leading ? " leading" : "")}, "
            + $"{Stopwatch.GetElapsedTime(Origin, Start).TotalMilliseconds:0}-{Stopwatch.GetElapsedTime(Origin, End).TotalMilliseconds:0} ms, applied {AppliedBefore}-{AppliedAfter})";
    }

    /// <summary>What the workload of test 3 did and saw.</summary>
    private sealed class History
    {
        public ConcurrentDictionary<string, byte> Attempted { get; } = new();

        public ConcurrentBag<Acked> Acknowledged { get; } = new();

        public ConcurrentBag<(string Tag, long N)> OwnReads { get; } = new();

        public ConcurrentBag<(long Expected, long Actual)> InsideReads { get; } = new();

        public ConcurrentBag<Observed> Reads { get; } = new();

        public ConcurrentBag<string> Unexpected { get; } = new();

        private readonly ConcurrentDictionary<string, int> _errors = new();

        public async Task RunAsync(LiveNodes live, Node node, string what, Func<Task> operation)
        {
            try
            {
                await operation();
            }
            catch (RaftSqlException ex)
            {
                _errors.AddOrUpdate($"{what}: {ex.Code}", 1, (_, n) => n + 1);
            }
            catch (Exception ex) when (!live.IsLive(node))
            {
                _errors.AddOrUpdate($"{what} on a stopped node: {ex.GetType().Name}", 1, (_, n) => n + 1);
            }
            catch (Exception ex)
            {
                Unexpected.Add($"{what} on node {node.Id}: {ex}");
            }
        }

        public string Report() =>
            $"{Acknowledged.Count} register writes acknowledged of {Attempted.Count}; {Reads.Count} reads ("
            + string.Join(", ", Reads.GroupBy(r => r.Level).Select(g => $"{g.Key} {g.Count()}")) + $"); {InsideReads.Count} reads inside transactions\n"
            + "errors: " + string.Join(", ", _errors.OrderBy(e => e.Key).Select(e => $"{e.Key} x{e.Value}"));
    }
}
