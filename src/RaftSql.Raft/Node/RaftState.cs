namespace RaftSql.Raft;

public enum RaftState
{
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}
