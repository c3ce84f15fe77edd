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

    [LoggerMessage(2009, LogLevel.Warning, "Local pending commit on {Database} superseded by entry {Index} from another writer")]
    public partial void PendingSuperseded(string database, ulong index);
}
