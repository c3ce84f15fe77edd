namespace RaftSql;

/// <summary>The part a member plays in the cluster.</summary>
public enum NodeRole
{
    /// <summary>Votes in elections and counts towards the quorum for commits.</summary>
    Voter = 0,

    /// <summary>Receives the log and keeps an up-to-date copy, but does not vote; can be promoted.</summary>
    Standby = 1,

    /// <summary>A member that receives nothing; kept in the configuration for later use.</summary>
    Spare = 2,
}
