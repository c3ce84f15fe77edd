namespace RaftSql.Gateway;

/// <summary>An interactive transaction on the leader: it owns the database's write connection until it ends.</summary>
internal sealed class WriteTransaction
{
    private int _ended;

    public WriteTransaction(string database, LocalDatabases.Writer writer)
    {
        Database = database;
        Writer = writer;
    }

    public string Database { get; }

    public LocalDatabases.Writer Writer { get; }

    /// <summary>One statement at a time; held while a statement, commit or rollback runs.</summary>
    public AsyncGate StatementLock { get; } = new();

    /// <summary>Completes when everything the transaction's statements read so far is committed.</summary>
    public Task Visible { get; set; } = Task.CompletedTask;

    /// <summary>Why the transaction was rolled back under its client (leadership lost), if it was.</summary>
    public RaftSqlException? AbortReason { get; private set; }

    public void Abort(RaftSqlException reason) => AbortReason ??= reason;

    /// <summary>True the first time: the caller ends it.</summary>
    public bool MarkEnded() => Interlocked.Exchange(ref _ended, 1) == 0;

    public void ThrowIfEnded()
    {
        if (AbortReason is { } reason)
            throw reason;
        if (Volatile.Read(ref _ended) != 0)
            throw new RaftSqlException(RaftSqlErrorCode.ProtocolError, "The transaction has already ended.");
    }
}
