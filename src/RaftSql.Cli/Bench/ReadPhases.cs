using Spectre.Console;

namespace RaftSql.Cli.Bench;

/// <summary>What the cluster's concurrent read phases measured, in reads per second.</summary>
/// <param name="FollowerLocal">16 provider connections, Local, on a follower.</param>
/// <param name="LeaderLease">16 provider connections, Lease, on the leader.</param>
/// <param name="FollowerLinearizable">64 provider connections, Linearizable, on a follower (ReadIndex rounds shared).</param>
/// <param name="LeaderUnderWrites">16 provider connections, Local, on the leader while 32 writers run.</param>
/// <param name="WritesDuringReads">The write transactions per second the 32 writers made meanwhile.</param>
internal sealed record ClusterReads(double FollowerLocal, double LeaderLease, double FollowerLinearizable,
    double LeaderUnderWrites, double WritesDuringReads);

/// <summary>
/// Point reads by primary key with <see cref="ConcurrentReads.Readers"/> readers at once, each with its own
/// connection: through the ADO.NET provider bound to in-process nodes, and through Microsoft.Data.Sqlite
/// on the baseline file.
/// </summary>
internal static class ReadPhases
{
    public static async Task<double> BaselineAsync(string path, TimeSpan duration, long maxId)
    {
        var readers = Enumerable.Range(0, ConcurrentReads.Readers).Select(_ => new BaselineReader(path)).ToList();
        try
        {
            return await ConcurrentReads.RunAsync([.. readers.Select(r => (Func<long, Task>)r.ReadAsync)], duration, maxId).ConfigureAwait(false);
        }
        finally
        {
            readers.ForEach(r => r.Dispose());
        }
    }

    /// <summary>Runs the cluster's read phases; every row up to <see cref="IdSource.Last"/> must be on every node.</summary>
    public static async Task<ClusterReads> ClusterAsync(Node leader, Node follower, IdSource ids, TimeSpan duration, StatusContext status)
    {
        var maxId = ids.Last;
        var n = ConcurrentReads.Readers;
        status.Status($"Cluster: {n} provider readers, Local, on a follower");
        var followerLocal = await ProviderAsync(follower, ReadConsistency.Local, duration, maxId).ConfigureAwait(false);
        status.Status($"Cluster: {n} provider readers, Lease, on the leader");
        var leaderLease = await ProviderAsync(leader, ReadConsistency.Lease, duration, maxId).ConfigureAwait(false);
        status.Status($"Cluster: {ConcurrentReads.LinearizableReaders} provider readers, Linearizable, on a follower");
        var linearizable = await ProviderAsync(follower, ReadConsistency.Linearizable, duration, maxId, ConcurrentReads.LinearizableReaders).ConfigureAwait(false);

        status.Status($"Cluster: {n} provider readers, Local, on the leader, while {BenchSettings.ManyWriters} writers run");
        var writes = Workload.WriteAsync(BenchSettings.ManyWriters, duration, ids,
            (_, id) => leader.ExecuteAsync(Workload.Database, Workload.Insert, Workload.Row(id)));
        var reads = ProviderAsync(leader, ReadConsistency.Local, duration, maxId);
        await Task.WhenAll(writes, reads).ConfigureAwait(false);

        return new ClusterReads(followerLocal, leaderLease, linearizable, await reads.ConfigureAwait(false),
            (await writes.ConfigureAwait(false)).TransactionsPerSecond);
    }

    private static async Task<double> ProviderAsync(Node node, ReadConsistency consistency, TimeSpan duration, long maxId,
        int count = ConcurrentReads.Readers)
    {
        var readers = await ProviderReader.OpenManyAsync(node, consistency, count).ConfigureAwait(false);
        try
        {
            return await ConcurrentReads.RunAsync([.. readers.Select(r => (Func<long, Task>)r.ReadAsync)], duration, maxId).ConfigureAwait(false);
        }
        finally
        {
            foreach (var reader in readers)
                await reader.DisposeAsync().ConfigureAwait(false);
        }
    }
}
