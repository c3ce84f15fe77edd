using Microsoft.Extensions.Logging;

namespace RaftSql.Sqlite;

/// <summary>The replication engine's log events (EventIds 2000-2099).</summary>
internal sealed partial class EngineLog(ILogger logger)
{
    private readonly ILogger _logger = logger;

    [LoggerMessage(2000, LogLevel.Information, "Registered VFS {Vfs} for data directory {Directory}")]
    public partial void VfsRegistered(string vfs, string directory);

    [LoggerMessage(2001, LogLevel.Information, "Database {Database} opened (page size {PageSize}, durable index {DurableIndex})")]
    public partial void DatabaseOpened(string database, int pageSize, ulong durableIndex);

    [LoggerMessage(2002, LogLevel.Warning, "Local commit on {Database} refused: {Code}")]
    public partial void CommitRefused(string database, RaftSqlErrorCode code);

    [LoggerMessage(2003, LogLevel.Error, "VFS callback {Callback} failed")]
    public partial void CallbackFailed(string callback, Exception exception);

    [LoggerMessage(2004, LogLevel.Debug, "WAL of {Database} restarted")]
    public partial void WalRestarted(string database);

    [LoggerMessage(2005, LogLevel.Warning, "Background maintenance of {Database} failed")]
    public partial void MaintenanceFailed(string database, Exception exception);

    [LoggerMessage(2006, LogLevel.Information, "Database {Database} created from a replicated frame set")]
    public partial void DatabaseCreatedFromFrames(string database);

    [LoggerMessage(2007, LogLevel.Warning, "{Count} files are still open through VFS {Vfs} at dispose; keeping it registered")]
    public partial void FilesStillOpen(int count, string vfs);

    [LoggerMessage(2008, LogLevel.Information, "Installed snapshot at index {Index} with {Count} databases")]
    public partial void SnapshotInstalled(ulong index, int count);

    [LoggerMessage(2010, LogLevel.Information, "Cut the speculative tail of {Database}: {Count} transactions, back to frame {Frame}")]
    public partial void TailCut(string database, int count, uint frame);

    [LoggerMessage(2011, LogLevel.Information, "Trimmed the WAL of {Database} to frame {Frame} (durable index {Index}); the log replays the rest")]
    public partial void WalTrimmed(string database, ulong index, uint frame);

    [LoggerMessage(2012, LogLevel.Debug, "Published staged transaction {TransactionId} of {Database}: {Pages} pages")]
    public partial void StagedPublished(string database, ulong transactionId, long pages);

    [LoggerMessage(2013, LogLevel.Information, "Discarded staged transaction {TransactionId} of {Database}: {Why}")]
    public partial void StagingDiscarded(string database, ulong transactionId, string why);

    [LoggerMessage(2014, LogLevel.Warning, "Staging entries {From}..{To} of {Database} again from the log: SQLite did not publish that own transaction")]
    public partial void Restaging(string database, ulong from, ulong to);

    [LoggerMessage(2015, LogLevel.Warning, "Big transaction {TransactionId} of {Database} was abandoned after {Chunks} chunk entries went to the log; an abort entry follows them")]
    public partial void TransactionAbandoned(string database, ulong transactionId, uint chunks);

    [LoggerMessage(2016, LogLevel.Warning, "The abort entry of big transaction {TransactionId} of {Database} could not be proposed; the next transaction or term ends it on followers")]
    public partial void AbortNotProposed(string database, ulong transactionId, Exception exception);

    [LoggerMessage(2017, LogLevel.Warning, "Could not overwrite the commit frame {Frame} of a failed commit on {Database}; until the next commit overwrites it, only the durable record keeps WAL recovery from replaying it")]
    public partial void CommitFrameNotInvalidated(string database, uint frame);
}
