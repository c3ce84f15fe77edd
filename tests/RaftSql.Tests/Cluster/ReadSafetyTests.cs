using RaftSql.Gateway;
using RaftSql.Raft;

namespace RaftSql.Tests.Cluster;

/// <summary>Reads that claim more than Local never return what a newer leader already overwrote, and fail fast
/// when the node cannot keep their promise.</summary>
[Collection(ClusterTests.Collection)]
public sealed class ReadSafetyTests
{
    private const string Db = "app.db";

    private static async Task<Node> StartWithRowAsync(LocalCluster cluster)
    {
        var leader = await cluster.WaitForLeaderAsync();
        await leader.ExecuteAsync(Db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
        await leader.ExecuteAsync(Db, "INSERT INTO t VALUES (1, 'old')");
        return leader;
    }

    /// <summary>Blocks the node's Raft loop (as a long fsync or a GC pause would) until the returned event is set.</summary>
    private static async Task<ManualResetEventSlim> StallLoopAsync(Node node)
    {
        var release = new ManualResetEventSlim();
        var stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        node.Services.Host.Post(() =>
        {
            stalled.TrySetResult();
            release.Wait(TimeSpan.FromSeconds(60));
        });
        await stalled.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return release;
    }

    [Theory]
    [InlineData("Node")]
    [InlineData("Session")]
    [InlineData("Provider")]
    public async Task A_leader_whose_loop_stalls_does_not_serve_lease_reads_after_a_new_leader_took_writes(string via)
    {
        var path = Enum.Parse<SpeculativeTailTests.ReadPath>(via);
        await using var cluster = await LocalCluster.StartAsync(3);
        var leader = await StartWithRowAsync(cluster);
        Assert.Equal("old", (await leader.QueryAsync(Db, "SELECT v FROM t WHERE id = 1", consistency: ReadConsistency.Lease)).Scalar);

        using var release = await StallLoopAsync(leader);
        Task<IReadOnlyList<object[]>> pending;
        try
        {
            var others = cluster.Running.Where(n => n.Id != leader.Id).ToList();
            await Eventually.TrueAsync(() => others.Any(n => n.IsLeader), TimeSpan.FromSeconds(30), "a new leader");
            await others.First(n => n.IsLeader).ExecuteAsync(Db, "UPDATE t SET v = 'new' WHERE id = 1");
            Assert.True(leader.IsLeader); // what the stalled loop last published

            pending = SpeculativeTailTests.ReadAsync(leader, path, ReadConsistency.Lease, Db, "SELECT v FROM t WHERE id = 1");
        }
        finally
        {
            release.Set();
        }
        try
        {
            Assert.Equal("new", (string)Assert.Single(await pending)[0]);
        }
        catch (RaftSqlException ex)
        {
            // Failing is allowed (the caller retries); answering with the overwritten value is not.
            Assert.Contains(ex.Code, new[] { RaftSqlErrorCode.NoLeader, RaftSqlErrorCode.NotLeader, RaftSqlErrorCode.Timeout });
        }
    }

    [Fact]
    public async Task A_lease_permit_granted_before_a_leadership_transfer_does_not_outlive_it()
    {
        // A long election timeout: the lease (about 4.4 s) is still running by the clock when the new leader has
        // taken a write, so only the transfer itself can end the permit.
        await using var cluster = await LocalCluster.StartAsync(3, configure: o => o.ElectionTimeout = TimeSpan.FromSeconds(5));
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60));
        await leader.ExecuteAsync(Db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
        await leader.ExecuteAsync(Db, "INSERT INTO t VALUES (1, 'old')");
        var host = leader.Services.Host;
        await Eventually.TrueAsync(() => host.Status.HoldsLease, TimeSpan.FromSeconds(30), "the leader's lease");
        var permit = await leader.Services.Router.PrepareLocalReadAsync(Db, ReadConsistency.Lease, 0, CancellationToken.None);
        Assert.True(permit.Here);
        Assert.NotEqual(long.MaxValue, permit.LeaseExpiry); // granted under the lease, not by a ReadIndex round

        // The read is slow to take its snapshot: meanwhile leadership moves and the new leader, cut off from the
        // old one, takes a write the old one never sees.
        var target = cluster.Running.First(n => n.Id != leader.Id);
        await leader.Services.TransferLeadershipAsync(target.Id, CancellationToken.None);
        await Eventually.TrueAsync(() => target.IsLeader, TimeSpan.FromSeconds(30), "the transfer target to lead");
        // Judged as soon as the target leads, so a slow machine has the whole lease to get here.
        var holds = permit.StillHolds;
        var clockLeft = TimeProvider.System.GetTimestamp() < permit.LeaseExpiry;
        cluster.Faults.Partition([leader.Id], cluster.Running.Where(n => n.Id != leader.Id).Select(n => n.Id).ToList());
        await target.ExecuteAsync(Db, "UPDATE t SET v = 'new' WHERE id = 1");
        var read = await leader.Services.Databases.QueryAsync(Db, "SELECT v FROM t WHERE id = 1", [], CancellationToken.None);
        Assert.True(clockLeft, "inconclusive: the lease ran out by the clock before the target led");

        // Returning what was read ('old' here, overwritten by an acknowledged write) would be a stale lease read.
        Assert.False(holds, $"the permit still held after the transfer; the read saw '{read.Scalar}'");
        cluster.Faults.Heal();
    }

    [Fact]
    public async Task A_lease_read_waits_until_the_leader_applied_what_it_had_committed_when_the_read_began()
    {
        await using var cluster = await LocalCluster.StartAsync(3);
        var leader = await StartWithRowAsync(cluster);
        var host = leader.Services.Host;
        await Eventually.TrueAsync(() => host.Status.HoldsLease, TimeSpan.FromSeconds(30), "the leader's lease");

        // The next committed write is held between sending (followers learn it is committed, and may serve it)
        // and applying it on the leader.
        using var release = new ManualResetEventSlim();
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.BeforeApply = entries =>
        {
            if (!entries.Any(e => e.Type == EntryType.Normal && !e.Data.IsEmpty))
                return;
            host.BeforeApply = null;
            held.TrySetResult();
            release.Wait(TimeSpan.FromSeconds(60));
        };
        Task<ReadPermit> permit;
        Task<ExecuteResult> write;
        try
        {
            write = leader.ExecuteAsync(Db, "UPDATE t SET v = 'new' WHERE id = 1");
            await held.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(host.KnownCommit > host.Applied);
            permit = leader.Services.Router.PrepareLocalReadAsync(Db, ReadConsistency.Lease, 0, CancellationToken.None);
            Assert.False(permit.IsCompleted); // it waits for the apply
        }
        finally
        {
            release.Set();
        }
        var index = (await write).RaftIndex;
        Assert.True((await permit).Here);
        Assert.True(host.Applied >= index);
        Assert.Equal("new", (await leader.QueryAsync(Db, "SELECT v FROM t WHERE id = 1", consistency: ReadConsistency.Lease)).Scalar);
    }

    [Fact]
    public async Task A_leader_that_steps_down_without_a_known_successor_fails_its_pending_read_rounds_at_once()
    {
        // Long timers: a round that got no answer would otherwise fail only after the election timeout.
        await using var cluster = await LocalCluster.StartAsync(3, configure: o =>
        {
            o.HeartbeatInterval = TimeSpan.FromMilliseconds(100);
            o.ElectionTimeout = TimeSpan.FromSeconds(4);
        });
        var leader = await StartWithRowAsync(cluster);
        var host = leader.Services.Host;
        var others = cluster.Running.Where(n => n.Id != leader.Id).Select(n => n.Id).ToList();
        // Nothing reaches the leader any more: its read rounds go unanswered.
        foreach (var other in others)
            cluster.Faults.BlockOneWay(other, leader.Id);
        var round = host.ReadIndexAsync(CancellationToken.None);
        await Task.Yield();
        Assert.False(round.IsCompleted);

        // It learns of a higher term (as from a member that moved on) and steps down, knowing no leader.
        var started = DateTime.UtcNow;
        host.Receive(new Message { Type = MessageType.AppendResponse, From = others[0], To = leader.Id, Term = host.Status.Term + 5 });
        var failure = await Assert.ThrowsAsync<RaftSqlException>(() => round.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(RaftSqlErrorCode.NoLeader, failure.Code);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2), $"the round failed only after {(DateTime.UtcNow - started).TotalSeconds:0.0} s");
        await Eventually.TrueAsync(() => !leader.IsLeader, TimeSpan.FromSeconds(30), "the old leader to show it stepped down");
    }

    [Fact]
    public async Task A_node_whose_raft_loop_failed_says_so_and_serves_only_local_reads()
    {
        await using var cluster = await LocalCluster.StartAsync(3);
        var leader = await StartWithRowAsync(cluster);
        var follower = cluster.Running.First(n => n.Id != leader.Id);
        await Eventually.TrueAsync(() => follower.AppliedIndex >= leader.AppliedIndex, TimeSpan.FromSeconds(30), "the follower to catch up");
        await Eventually.TrueAsync(() => follower.Health.IsHealthy, TimeSpan.FromSeconds(30), "a healthy follower");

        follower.Services.Host.Post(() => throw new InvalidOperationException("injected loop failure"));
        await Eventually.TrueAsync(() => follower.Health.State == NodeHealthState.Failed, TimeSpan.FromSeconds(30), "the failure to show");
        Assert.Contains("injected loop failure", follower.Health.Reason);

        Assert.Equal("old", (await follower.QueryAsync(Db, "SELECT v FROM t WHERE id = 1", consistency: ReadConsistency.Local)).Scalar);
        foreach (var level in new[] { ReadConsistency.Session, ReadConsistency.Lease, ReadConsistency.Linearizable })
        {
            var refused = await Assert.ThrowsAsync<RaftSqlException>(() => follower.QueryAsync(Db, "SELECT v FROM t WHERE id = 1", consistency: level));
            Assert.Equal(RaftSqlErrorCode.NodeStopped, refused.Code);
        }
        var write = await Assert.ThrowsAsync<RaftSqlException>(() => follower.ExecuteAsync(Db, "UPDATE t SET v = 'x' WHERE id = 1"));
        Assert.Equal(RaftSqlErrorCode.NodeStopped, write.Code);
        Assert.True(leader.Health.IsHealthy);
    }
}
