using System.Data;
using System.Data.Common;
using RaftSql.Protocol;

namespace RaftSql.Data;

/// <summary>
/// An interactive transaction pinned to the leader: commands in it run there and see its writes. Disposing
/// it without <see cref="Commit"/> rolls it back; if the client disappears the leader rolls it back itself.
/// When leadership is lost meanwhile, the next command or the commit fails with a <see cref="RaftSqlException"/>
/// (NotLeader, NoLeader, Unavailable, or OutcomeUnknown for a commit whose answer was lost).
/// </summary>
public sealed class RaftSqlTransaction : DbTransaction
{
    private readonly RaftSqlConnection _connection;
    private readonly IsolationLevel _isolationLevel;
    private bool _completed;

    internal RaftSqlTransaction(RaftSqlConnection connection, ulong id, IsolationLevel isolationLevel)
    {
        _connection = connection;
        Id = id;
        _isolationLevel = isolationLevel;
    }

    /// <summary>The connection the transaction belongs to; null once it is committed or rolled back.</summary>
    public new RaftSqlConnection? Connection => _completed ? null : _connection;

    /// <inheritdoc />
    protected override DbConnection? DbConnection => Connection;

    /// <summary>Serializable: SQLite transactions always are (the level asked for is reported when it was one).</summary>
    public override IsolationLevel IsolationLevel =>
        _isolationLevel == IsolationLevel.Unspecified ? IsolationLevel.Serializable : _isolationLevel;

    /// <summary>The leader's id for this transaction.</summary>
    internal ulong Id { get; }

    /// <summary>Commits on the leader and waits until a majority has the transaction.</summary>
    /// <exception cref="RaftSqlException">The commit failed or its outcome is unknown.</exception>
    public override void Commit() => CommitAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc cref="Commit"/>
    public override async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        EnsureActive();
        try
        {
            ClientResponse answer = await _connection.Channel.SendAsync(new ClientRequest { Commit = new CommitRequest { TransactionId = Id } },
                RaftSqlConnection.Timeout(_connection.DefaultTimeout), cancellationToken).ConfigureAwait(false);
            _connection.ObserveWrite(answer.CommitResult.RaftIndex);
            Complete();
        }
        catch (RaftSqlException)
        {
            // A failed commit ends the transaction too; make sure the leader does not keep it open.
            await TryRollBackAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Rolls the transaction back on the leader.</summary>
    public override void Rollback() => RollbackAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc cref="Rollback"/>
    public override async Task RollbackAsync(CancellationToken cancellationToken = default)
    {
        EnsureActive();
        try
        {
            await _connection.Channel.SendAsync(new ClientRequest { Rollback = new RollbackRequest { TransactionId = Id } },
                RaftSqlConnection.Timeout(_connection.DefaultTimeout), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Complete();
        }
    }

    /// <summary>Rolls back if still in progress; false when the leader could not be told (the caller then
    /// drops the TCP connection, which makes the leader roll back).</summary>
    internal async Task<bool> TryRollBackAsync()
    {
        if (_completed)
            return true;
        try
        {
            await RollbackAsync().ConfigureAwait(false);
            return true;
        }
        catch (RaftSqlException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_completed && !TryRollBackAsync().GetAwaiter().GetResult())
            _connection.Channel.AbandonAsync().AsTask().GetAwaiter().GetResult();
        base.Dispose(disposing);
    }

    /// <summary>Rolls back if the transaction is still in progress.</summary>
    public override async ValueTask DisposeAsync()
    {
        if (!_completed && !await TryRollBackAsync().ConfigureAwait(false))
            await _connection.Channel.AbandonAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private void EnsureActive()
    {
        if (_completed)
            throw new InvalidOperationException("The transaction has already been committed or rolled back.");
    }

    private void Complete()
    {
        _completed = true;
        if (ReferenceEquals(_connection.Transaction, this))
            _connection.Transaction = null;
    }
}
