using RaftSql.Sqlite;

namespace RaftSql.Tests.Cluster;

[Collection(ClusterTests.Collection)]
public sealed class SnapshotTests
{
    [Fact]
    public async Task A_node_joining_after_compaction_catches_up_by_snapshot()
    {
        await using var cluster = await LocalCluster.StartAsync(3, compactionThreshold: 40);
        var leader = await cluster.WaitForLeaderAsync();
        await leader.ExecuteAsync("app.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
        for (var i = 0; i < 120; i++)
            await leader.ExecuteAsync("app.db", "INSERT INTO t (v) VALUES (randomblob(2000))");

        // A restarted node that missed many entries, and a brand-new node: both need a snapshot.
        var lagging = cluster.Running.First(n => !n.IsLeader);
        var laggingApplied = lagging.AppliedIndex;
        // Cut it off first, so the leader's appends are lost rather than queued for its return.
        cluster.Faults.Partition([lagging.Id], [.. cluster.Running.Where(n => n.Id != lagging.Id).Select(n => n.Id)]);
        await cluster.StopNodeAsync(lagging.Id);
        for (var i = 0; i < 120; i++)
            await leader.ExecuteAsync("app.db", "INSERT INTO t (v) VALUES (randomblob(2000))");
        // No log (whichever node leads by then) still holds what the lagging node needs.
        await Eventually.TrueAsync(() => cluster.Running.All(n => CompactedBelow(cluster.Events[n.Id]) > laggingApplied + 1),
            TimeSpan.FromSeconds(30), "every node to compact past the lagging node");
        await cluster.StartNodeAsync(lagging.Id);
        cluster.Faults.Heal();

        await cluster.StartNodeAsync(4);
        await using var client = cluster.Client();
        await client.AddAsync(4, cluster.Infos[4].Address);

        var dumps = await cluster.DumpAllAsync("app.db");
        Assert.Equal(4, dumps.Count);
        Assert.All(dumps.Values, d => Assert.Equal(dumps.Values.First(), d));
        var count = await cluster[4].QueryAsync("app.db", "SELECT count(*) FROM t", consistency: ReadConsistency.Local);
        Assert.Equal(240L, count.Scalar);
        const int snapshotInstalled = 4006;
        Assert.True(cluster.Events[4].Saw(snapshotInstalled), "node 4 should have caught up by snapshot");
        Assert.True(cluster.Events[lagging.Id].Saw(snapshotInstalled), "the lagging node should have caught up by snapshot");
    }

    [Fact]
    public async Task A_snapshot_taken_while_a_big_transaction_replicates_installs_and_the_transaction_applies_after_it()
    {
        // Long election timeouts: the followers' loops are held for a moment below, and the leader must keep leading.
        await using var cluster = await LocalCluster.StartAsync(3, compactionThreshold: 40,
            configure: o => o.ElectionTimeout = TimeSpan.FromSeconds(5));
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60));
        await leader.ExecuteAsync("app.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
        for (var i = 0; i < 80; i++)
            await leader.ExecuteAsync("app.db", "INSERT INTO t (v) VALUES (randomblob(100))");
        await Eventually.TrueAsync(() => CompactedBelow(cluster.Events[leader.Id]) > 2, TimeSpan.FromSeconds(30), "the leader to compact");

        // A new node that needs a snapshot, cut off from the leader until the big transaction is half applied.
        var joining = await cluster.StartNodeAsync(4);
        cluster.Faults.Block(leader.Id, 4);
        await using (var client = cluster.Client())
            await client.AddAsync(4, cluster.Infos[4].Address);

        // The followers stop applying at the transaction's first committed chunk (they still acknowledge what
        // they hold), so the leader has applied some chunks as its own and not the final entry.
        using var release = new ManualResetEventSlim();
        var followers = cluster.Running.Where(n => n.Id != leader.Id && n.Id != 4).ToList();
        foreach (var follower in followers)
        {
            follower.Services.Host.BeforeApply = entries =>
            {
                if (entries.Any(e => e.Type == RaftSql.Raft.EntryType.Normal && !e.Data.IsEmpty && !FrameSet.Decode(e.Data.Span).IsFinal))
                    release.Wait(TimeSpan.FromSeconds(30));
            };
        }
        var first = leader.Services.Host.Status.Commit + 1;
        var big = leader.ExecuteAsync("app.db",
            "INSERT INTO t (v) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000) SELECT randomblob(4000) FROM c");
        try
        {
            await Eventually.TrueAsync(() => big.IsCompleted || leader.Services.Host.Applied >= first, TimeSpan.FromSeconds(60),
                "the leader to apply the first chunk");
            Assert.False(big.IsCompleted, "the big transaction should still be replicating");
            cluster.Faults.Heal();
            await Eventually.TrueAsync(() => cluster.Events[leader.Id].Saw(SnapshotSending), TimeSpan.FromSeconds(30), "a snapshot for node 4");
        }
        finally
        {
            release.Set();
            foreach (var follower in followers)
                follower.Services.Host.BeforeApply = null;
        }
        await big;
        var target = leader.AppliedIndex;
        await Eventually.TrueAsync(() => joining.Services.Host.Failure is not null || joining.AppliedIndex >= target,
            TimeSpan.FromSeconds(60), "node 4 to catch up");
        Assert.Null(joining.Services.Host.Failure);

        var dumps = await cluster.DumpAllAsync("app.db");
        Assert.Equal(4, dumps.Count);
        Assert.All(dumps.Values, d => Assert.Equal(dumps.Values.First(), d));
        Assert.True(cluster.Events[4].Saw(SnapshotInstalled), "node 4 should have caught up by snapshot");
        var count = await joining.QueryAsync("app.db", "SELECT count(*) FROM t", consistency: ReadConsistency.Local);
        Assert.Equal(10080L, count.Scalar);
    }

    private const int SnapshotSending = 4004;
    private const int SnapshotInstalled = 4006;

    private static ulong CompactedBelow(EventRecorder events) =>
        events.Messages.Where(m => m.StartsWith("4007: ", StringComparison.Ordinal))
            .Select(m => ulong.Parse(m[(m.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture))
            .DefaultIfEmpty(0UL).Max();
}
