using System.Diagnostics;

namespace RaftSql.Cli.Bench;

/// <summary>Failover time: from stopping the leader to the first write a new leader accepts.</summary>
internal static class Failover
{
    /// <summary>Runs one trial and returns its milliseconds; the stopped node is restarted and caught up afterwards.</summary>
    public static async Task<double> TrialAsync(BenchCluster cluster, IdSource ids)
    {
        var leader = await cluster.WaitForLeaderAsync().ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        await cluster.StopNodeAsync(leader.Id).ConfigureAwait(false);
        var survivor = cluster.Running.First();
        ExecuteResult accepted;
        while (true)
        {
            try
            {
                accepted = await survivor.ExecuteAsync(Workload.Database, Workload.Insert, Workload.Row(ids.Next())).ConfigureAwait(false);
                break;
            }
            catch (RaftSqlException ex) when (ex.Code is RaftSqlErrorCode.NoLeader or RaftSqlErrorCode.NotLeader
                or RaftSqlErrorCode.Unavailable or RaftSqlErrorCode.Timeout or RaftSqlErrorCode.OutcomeUnknown)
            {
                // Still electing; a write of unknown outcome used its own id, so trying again is safe.
            }
        }
        var elapsed = clock.Elapsed.TotalMilliseconds;

        await cluster.StartNodeAsync(leader.Id).ConfigureAwait(false);
        await cluster.WaitForLeaderAsync().ConfigureAwait(false);
        await cluster.WaitForAllAppliedAsync(accepted.RaftIndex).ConfigureAwait(false);
        return elapsed;
    }
}
