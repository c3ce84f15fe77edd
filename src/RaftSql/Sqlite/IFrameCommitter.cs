namespace RaftSql.Sqlite;

/// <summary>
/// Replicates the frames of local write transactions (the Raft host implements it). Called on
/// SQLite's thread while that thread waits inside the commit frame's write: start replication and
/// return; answer later through <see cref="PendingCommit.Commit"/>/<see cref="PendingCommit.Fail"/>, or let
/// <see cref="ReplicationEngine.ApplyCommitted"/> complete it when the entry reaches the apply loop.
/// Never wait here for the apply loop: it may be waiting for this very transaction.
/// </summary>
public interface IFrameCommitter
{
    void Submit(PendingCommit commit);
}
