namespace RaftSql.Raft;

/// <summary>An immutable cluster configuration.</summary>
public sealed class Membership
{
    public static Membership Empty { get; } = new([]);

    private readonly Dictionary<ulong, Member> _byId;

    public Membership(IEnumerable<Member> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        _byId = [];
        foreach (var m in members)
        {
            if (m.Id == 0) throw new ArgumentException("Member id 0 is reserved.", nameof(members));
            if (!_byId.TryAdd(m.Id, m)) throw new ArgumentException($"Member {m.Id} is listed twice.", nameof(members));
        }
        Members = [.. _byId.Values.OrderBy(m => m.Id)];
        Voters = [.. Members.Where(m => m.Role == MemberRole.Voter).Select(m => m.Id)];
        // Spares receive nothing, so the replication set is voters and standbys.
        ReplicationTargets = [.. Members.Where(m => m.Role != MemberRole.Spare).Select(m => m.Id)];
    }

    /// <summary>All members ordered by id.</summary>
    public IReadOnlyList<Member> Members { get; }

    public IReadOnlyList<ulong> Voters { get; }

    /// <summary>Voters and standbys: the members the leader replicates to.</summary>
    public IReadOnlyList<ulong> ReplicationTargets { get; }

    public int QuorumSize => Voters.Count / 2 + 1;

    public bool Contains(ulong id) => _byId.ContainsKey(id);

    public bool IsVoter(ulong id) => _byId.TryGetValue(id, out var m) && m.Role == MemberRole.Voter;

    public Member? Find(ulong id) => _byId.GetValueOrDefault(id);

    /// <summary>The configuration after <paramref name="change"/>.</summary>
    public Membership Apply(ConfChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var next = new Dictionary<ulong, Member>(_byId);
        if (change.Type == ConfChangeType.Remove) next.Remove(change.Member.Id);
        else next[change.Member.Id] = change.Member;
        return new Membership(next.Values);
    }

    public override string ToString() => string.Join(",", Members.Select(m => $"{m.Id}:{m.Role}"));
}
