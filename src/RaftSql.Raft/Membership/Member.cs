namespace RaftSql.Raft;

/// <summary>Voters vote and count for quorum; standbys receive the log but do not vote; spares receive nothing.</summary>
public enum MemberRole : byte
{
    Voter = 0,
    Standby = 1,
    Spare = 2,
}

/// <summary>A cluster member. The address is opaque to the core: it travels with the membership for the host.</summary>
public sealed record Member(ulong Id, MemberRole Role, string Address);
