using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace RaftSql.Tests.Cluster;

/// <summary>A restarting node replays the committed log above what its files hold durably; until it has replayed up
/// to the commit index it knew when it started, it serves no read, not even Local (no time travel).</summary>
[Collection(ClusterTests.Collection)]
public sealed partial class RestartReadTests(ITestOutputHelper output)
{
    private const string Db = "app.db";

    [Fact]
    public async Task A_restarted_node_never_reads_a_counter_below_what_it_had_before_it_stopped()
    {
        await using var cluster = await LocalCluster.StartAsync(3);
        var leader = await cluster.WaitForLeaderAsync();
        await leader.ExecuteAsync(Db, "CREATE TABLE c (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)");
        await leader.ExecuteAsync(Db, "INSERT INTO c VALUES (1, 0)");
        var follower = cluster.Running.First(n => n.Id != leader.Id);
        var failures = new List<string>();
        long counter = 0;
        var replays = 0;
        for (var cycle = 0; cycle < 3; cycle++)
        {
            // Updates of one row with full checkpoints in between (the database file moves ahead, the WAL starts
            // over), then a last burst the follower stops right after: its durable record lags behind it.
            for (var round = 0; round < 3; round++)
            {
                counter = await IncrementAsync(leader, 60, counter);
                await Eventually.TrueAsync(() => follower.AppliedIndex >= leader.AppliedIndex, TimeSpan.FromSeconds(60), "the follower to apply a round");
                var engine = follower.Services.Host.Engine;
                await Eventually.TrueAsync(() => Task.Run(() => engine.Checkpoint(Db, truncate: true)), TimeSpan.FromSeconds(60), "a full checkpoint on the follower");
            }
            counter = await IncrementAsync(leader, 150, counter);
            var target = leader.AppliedIndex;
            await Eventually.TrueAsync(() => follower.AppliedIndex >= target, TimeSpan.FromSeconds(60), "the follower to apply the last burst");
            var before = await ReadAsync(follower);
            if (before < counter)
                failures.Add($"cycle {cycle}: the follower read {before} before its stop, {counter} increments were acknowledged");
            await cluster.StopNodeAsync(follower.Id);

            // Read it from the moment it is back until it has caught up with the leader, and a little longer; the leader
            // goes on taking writes meanwhile.
            follower = await cluster.StartNodeAsync(follower.Id);
            using var stopWriting = new CancellationTokenSource();
            var writer = Task.Run(async () =>
            {
                var n = counter;
                while (!stopWriting.IsCancellationRequested)
                    n = await IncrementAsync(leader, 1, n);
                return n;
            });
            var reads = new List<(long Value, ulong Applied)>();
            var clock = Stopwatch.StartNew();
            TimeSpan? caughtUp = null;
            while (caughtUp is null || clock.Elapsed < caughtUp + TimeSpan.FromMilliseconds(300))
            {
                try
                {
                    reads.Add((await ReadAsync(follower), follower.AppliedIndex));
                }
                catch (RaftSqlException ex)
                {
                    failures.Add($"cycle {cycle}: a Local read failed {ex.Code}: {ex.Message}");
                    break;
                }
                if (caughtUp is null && follower.AppliedIndex >= target)
                    caughtUp = clock.Elapsed;
                if (clock.Elapsed > TimeSpan.FromSeconds(60))
                    throw new TimeoutException("The restarted node did not catch up in 60 s.");
            }
            await stopWriting.CancelAsync();
            counter = await writer;

            var started = cluster.Events[follower.Id].Messages.Last(m => m.StartsWith("4009:", StringComparison.Ordinal));
            var startedAt = ulong.Parse(StartedApplied().Match(started).Groups[1].Value, CultureInfo.InvariantCulture);
            if (startedAt < target)
                replays++;
            output.WriteLine($"cycle {cycle}: read {before} before the stop at index {target}; {started}; {reads.Count} reads after, "
                + $"first {reads.FirstOrDefault().Value}, lowest {(reads.Count > 0 ? reads.Min(r => r.Value) : -1)}, last {reads.LastOrDefault().Value}");
            var highest = before;
            foreach (var (value, applied) in reads)
            {
                if (value < highest)
                    failures.Add($"cycle {cycle}: read {value} (applied {applied}) after {highest} had been read on this node");
                highest = Math.Max(highest, value);
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} violations:\n" + string.Join("\n", failures.Take(20)));
        // Otherwise the test proved nothing: at least one restart had entries to replay.
        Assert.True(replays > 0, "no restart started behind what the node had applied before it stopped");
        // Replaying older page images never sticks: once caught up, every page is the committed history's latest.
        var dumps = await cluster.DumpAllAsync(Db);
        Assert.All(dumps.Values, d => Assert.Equal(dumps.Values.First(), d));
    }

    [Fact]
    public Task A_node_restarted_after_a_crash_reads_nothing_older_than_it_served_though_its_saved_commit_lags() =>
        // Back alone at first: nothing but its own files and log tells it how far it had gone.
        CrashedFollowerReadsNothingOlderAsync("the restart", (cluster, id) => cluster.StartNodeAsync(id));

    [Fact]
    public Task A_clean_stop_before_the_read_floor_is_confirmed_keeps_the_next_start_gated() =>
        // As above, but the crashed node is stopped cleanly while still alone (its read floor unconfirmed), then
        // started alone again: that start must still treat the log past the saved commit as possibly served.
        CrashedFollowerReadsNothingOlderAsync("two restarts", async (cluster, id) =>
        {
            await cluster.StartNodeAsync(id);
            await cluster.StopNodeAsync(id);
            return await cluster.StartNodeAsync(id);
        });

    /// <summary>
    /// Up to five rounds of: a burst a follower applies and reads, a crash whose saved (lazily written) commit index
    /// lags behind it, <paramref name="restartAlone"/> while the follower is cut off, and a read once it is back: the
    /// read after must not be older than the read before. Passes only if some round restarted from files older than
    /// what the node had served.
    /// </summary>
    private async Task CrashedFollowerReadsNothingOlderAsync(string restarts, Func<LocalCluster, ulong, Task<Node>> restartAlone)
    {
        // No compaction-driven flushes: the follower's durable record lags behind what it applied.
        await using var cluster = await LocalCluster.StartAsync(3, compactionThreshold: 1_000_000,
            configure: o => o.ElectionTimeout = TimeSpan.FromSeconds(2));
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60));
        await leader.ExecuteAsync(Db, "CREATE TABLE c (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)");
        await leader.ExecuteAsync(Db, "INSERT INTO c VALUES (1, 0)");
        var id = cluster.Running.First(n => n.Id != leader.Id).Id;
        var others = cluster.Running.Where(n => n.Id != id).Select(n => n.Id).ToList();
        var raftDirectory = Path.Combine(cluster.DataDirectory(id), "raft");
        long counter = 0;
        var exercised = 0;
        for (var attempt = 0; attempt < 5 && exercised == 0; attempt++)
        {
            var follower = cluster[id];
            // A lazily saved hard state may still hold a commit index from before the burst when the node crashes.
            var oldCommit = follower.Services.Host.Status.Commit;
            counter = await IncrementAsync(leader, 150, counter);
            var target = leader.AppliedIndex;
            await Eventually.TrueAsync(() => follower.AppliedIndex >= target, TimeSpan.FromSeconds(60), "the follower to apply the burst");
            var before = await ReadAsync(follower);
            await cluster.StopNodeAsync(id);
            var hardState = new RaftSql.Storage.HardStateStore(raftDirectory);
            hardState.Save(hardState.Load() with { Commit = oldCommit });
            await File.WriteAllBytesAsync(Path.Combine(raftDirectory, RaftSql.Storage.RunMarker.FileName), []);

            cluster.Faults.Partition([id], others);
            follower = await restartAlone(cluster, id);
            if (follower.Services.Host.Engine.DurableIndex() < target)
                exercised++;
            var read = ReadAsync(follower);
            cluster.Faults.Heal();
            var after = await read;
            output.WriteLine($"attempt {attempt}: read {before} before the crash at index {target}, {after} after {restarts}; "
                + $"durable index {follower.Services.Host.Engine.DurableIndex()}, saved commit {oldCommit}");
            Assert.True(after >= before, $"read {after} after {restarts}, {before} before the crash");
        }
        Assert.True(exercised > 0, "no restart had files older than what the node had served");
    }

    /// <summary>Increments the counter <paramref name="times"/> times; returns <paramref name="counter"/> plus the
    /// increments acknowledged (a lower bound of the value: one whose outcome is unknown may have landed too).</summary>
    private static async Task<long> IncrementAsync(Node leader, int times, long counter)
    {
        for (var i = 0; i < times; i++)
        {
            try
            {
                await leader.ExecuteAsync(Db, "UPDATE c SET v = v + 1 WHERE id = 1");
                counter++;
            }
            catch (RaftSqlException ex) when (ex.Code is RaftSqlErrorCode.OutcomeUnknown or RaftSqlErrorCode.NoLeader or RaftSqlErrorCode.Timeout)
            {
                // A slow machine can force an election: the value stays at least the acknowledged count.
            }
        }
        return counter;
    }

    /// <summary>The counter, or -1 when the row is not there (a state from before its insert).</summary>
    private static async Task<long> ReadAsync(Node node) =>
        (await node.QueryAsync(Db, "SELECT v FROM c WHERE id = 1", consistency: ReadConsistency.Local)).Scalar is long v ? v : -1;

    [GeneratedRegex(@"applied (\d+)")]
    private static partial Regex StartedApplied();
}
