using RaftSql.Sqlite.Wal;

namespace RaftSql.Sqlite.Vfs;

/// <summary>A connection's main database file: it owns that connection's WAL-index lock state.</summary>
internal sealed class DatabaseFileState(ReplicatedDatabase database, ReplicationVfs vfs)
{
    public ReplicatedDatabase Database { get; } = database;
    public ReplicationVfs Vfs { get; } = vfs;
    public ShmClient Client { get; } = new();
    public bool Mapped { get; set; }
}

/// <summary>A connection's WAL file: its writes are captured.</summary>
internal sealed class WalFileState(ReplicatedDatabase database, ReplicationVfs vfs)
{
    public ReplicatedDatabase Database { get; } = database;
    public ReplicationVfs Vfs { get; } = vfs;
    public WalCapture Capture { get; } = new(database, vfs);
}
