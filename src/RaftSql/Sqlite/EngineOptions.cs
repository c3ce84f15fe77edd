using Microsoft.Extensions.Logging;

namespace RaftSql.Sqlite;

/// <summary>Settings of a <see cref="ReplicationEngine"/>.</summary>
public sealed class EngineOptions
{
    /// <summary>Directory holding this node's databases and durability records. Required.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Replicates local commits. Null: local writes are refused (a pure follower).</summary>
    public IFrameCommitter? Committer { get; init; }

    /// <summary>The largest entry the log takes: a transaction whose pages need more travels as chunks of this size.</summary>
    public int MaxEntryBytes { get; init; } = 1024 * 1024 - 1024;

    /// <summary>How long the apply path (and a cut of the tail) waits for a local writer to release a database's write lock.</summary>
    public TimeSpan ApplyLockTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The background checkpointer copies committed frames into the database once the WAL holds this many frames.</summary>
    public int CheckpointThresholdFrames { get; init; } = 1000;

    /// <summary>How often the background task checkpoints and records durable indexes. Zero disables it.</summary>
    public TimeSpan MaintenanceInterval { get; init; } = TimeSpan.FromSeconds(1);

    public ILoggerFactory? LoggerFactory { get; init; }
}
