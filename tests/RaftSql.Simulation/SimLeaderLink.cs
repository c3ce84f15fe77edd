using RaftSql.Gateway;
using RaftSql.Protocol;

namespace RaftSql.Simulation;

/// <summary>
/// Forwarded writes and lease reads over the simulated wire: the request reaches the leader's client
/// session after a delay (or is lost: nothing was sent when the leader is known to be unreachable, an
/// unknown outcome when the connection fails on the way), and so does the answer.
/// </summary>
internal sealed class SimLeaderLink(SimNetwork network, SimScheduler scheduler, SimNode self, TimeSpan timeout, Trace trace) : ILeaderLink
{
    public async Task<ClientResponse> SendAsync(ulong leaderId, ClientRequest request, CancellationToken cancellationToken)
    {
        if (network.Running(leaderId) is not { } leader || network.Blocked(self.Id, leaderId))
            throw new LeaderUnreachableException($"Cannot reach leader {leaderId} (simulated).", null);
        var answer = AsyncCompletion.Create<ClientResponse>();
        var copy = request.Clone();
        var incarnation = leader.Incarnation;
        scheduler.After(network.Delay(), () =>
        {
            if (network.Running(leaderId) is not { } target || target.Incarnation != incarnation || network.Lost(self.Id, leaderId))
            {
                answer.TrySetException(Broken(leaderId));
                return;
            }
            trace.Add($"forward {self.Id}>{leaderId} {copy.RequestCase}");
            scheduler.WhenDone(target.SessionFor(self.Id).HandleAsync(copy, CancellationToken.None), task =>
            {
                var done = (Task<ClientResponse>)task;
                trace.Add($"forwarded {self.Id}>{leaderId} answered {done.Status}");
                scheduler.After(network.Delay(), () =>
                {
                    if (!self.IsUp || target.Incarnation != incarnation || !target.IsUp || network.Lost(leaderId, self.Id))
                        answer.TrySetException(Broken(leaderId));
                    else if (done.IsCompletedSuccessfully)
                        answer.TrySetResult(done.Result.Clone());
                    else if (done.Exception?.InnerException is RaftSqlException error)
                        answer.TrySetResult(new ClientResponse { Error = Transport.ClientErrors.ToError(error, null) });
                    else
                        answer.TrySetException(done.Exception?.InnerException ?? Broken(leaderId));
                });
            });
        });
        try
        {
            return await answer.Task.WaitAsync(timeout, self.Clock, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new RaftSqlException(RaftSqlErrorCode.Timeout, $"Leader {leaderId} did not answer in time (simulated).");
        }
    }

    private static RaftSqlException Broken(ulong leaderId) =>
        new(RaftSqlErrorCode.Unavailable, $"The connection to leader {leaderId} broke (simulated).");
}
