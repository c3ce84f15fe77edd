namespace RaftSql.Raft;

public enum MessageType : byte
{
    Vote = 1,
    VoteResponse = 2,
    PreVote = 3,
    PreVoteResponse = 4,
    Append = 5,
    AppendResponse = 6,
    Heartbeat = 7,
    HeartbeatResponse = 8,
    Snapshot = 9,
    ReadIndex = 10,
    ReadIndexResponse = 11,
    TimeoutNow = 12,
    TransferLeader = 13,
}
