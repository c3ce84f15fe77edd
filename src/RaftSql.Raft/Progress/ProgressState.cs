namespace RaftSql.Raft;

/// <summary>How the leader replicates to a follower: probing for the match point, streaming, or waiting for a snapshot.</summary>
public enum ProgressState
{
    Probe,
    Replicate,
    Snapshot,
}
