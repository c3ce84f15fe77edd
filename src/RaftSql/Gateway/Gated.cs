using RaftSql.Sqlite;

namespace RaftSql.Gateway;

/// <summary>
/// The result of a statement run on the leader's write connection, held back until it may leave the
/// node: every commit it made is applied (committed in Raft) and everything it read is committed.
/// </summary>
internal sealed class Gated<T>(T result, IReadOnlyList<LocalCommit> commits, Task visible)
{
    public T Result { get; } = result;

    /// <summary>Completes with the Raft index of the last commit (0 when it wrote nothing). A client that
    /// stops waiting learns that the outcome is unknown: the entries stay in the log and Raft decides.</summary>
    public async Task<ulong> ReleasedAsync(CancellationToken cancellationToken)
    {
        ulong index = 0;
        try
        {
            foreach (var commit in commits)
                index = Math.Max(index, await commit.Committed.WaitAsync(cancellationToken).ConfigureAwait(false));
            await visible.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (commits.Count > 0)
        {
            throw new RaftSqlException(RaftSqlErrorCode.OutcomeUnknown,
                "The write was proposed but not known to commit in time; it may or may not be applied.");
        }
        return index;
    }
}
