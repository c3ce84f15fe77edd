using System.Buffers.Binary;
using RaftSql.Raft.Tests.Support;

namespace RaftSql.Raft.Tests.Simulation;

/// <summary>
/// Raft's safety properties (Raft paper figure 3), checked incrementally as the simulation persists,
/// applies and elects, plus the client-visible guarantees: acknowledged writes survive and reads see them.
/// </summary>
internal sealed class SafetyChecker : IHostObserver
{
    private readonly Dictionary<ulong, ulong> _leaderOfTerm = [];
    // Log matching: the hash of the whole log prefix ending at (index, term) must be the same everywhere.
    private readonly Dictionary<(ulong Index, ulong Term), ulong> _prefixByEntry = [];
    private readonly Dictionary<ulong, Dictionary<ulong, ulong>> _hostPrefixes = [];
    private readonly Dictionary<ulong, ulong> _hostLastPersisted = [];
    // State machine safety: what was applied at each index (term and prefix hash).
    private readonly Dictionary<ulong, (ulong Term, ulong Prefix)> _applied = [];
    private readonly Dictionary<ulong, Proposal> _proposals = [];
    private readonly Dictionary<ulong, ulong> _readFloor = [];

    private sealed record Proposal(ulong Host, int Incarnation)
    {
        public bool Acked { get; set; }
    }

    public SimulationStats Stats { get; } = new();

    public ulong MaxCommittedIndex { get; private set; }

    /// <summary>The highest index of a write some client has been told is committed.</summary>
    public ulong MaxAckedIndex { get; private set; }

    public HashSet<ulong> AckedProposals { get; } = [];

    public static byte[] ProposalData(ulong id, int padding)
    {
        var data = new byte[8 + padding];
        BinaryPrimitives.WriteUInt64LittleEndian(data, id);
        return data;
    }

    public static ulong ProposalId(Entry e) => BinaryPrimitives.ReadUInt64LittleEndian(e.Data.Span);

    public void OnProposed(TestHost host, ulong id) => _proposals[id] = new Proposal(host.Id, host.Incarnation);

    public void OnReadIssued(ulong requestId) => _readFloor[requestId] = MaxAckedIndex;

    public void OnReadState(TestHost host, ReadState read)
    {
        if (read.Rejected) return; // the leader stepped down: the reader retries
        // Read safety: the read point covers every write acknowledged before the read was issued.
        if (_readFloor.TryGetValue(read.RequestId, out var floor) && read.Index < floor)
            throw new SimulationFailure($"read safety: node {host.Id} read {read.RequestId} at index {read.Index}, but index {floor} was acknowledged before it was issued");
        Stats.ReadsServed++;
    }

    public void OnPersisted(TestHost host, IReadOnlyList<Entry> entries)
    {
        if (entries.Count == 0) return;
        var prefixes = PrefixesOf(host.Id);
        var oldLast = _hostLastPersisted.GetValueOrDefault(host.Id);
        foreach (var e in entries)
        {
            if (!prefixes.TryGetValue(e.Index - 1, out var previous))
                throw new SimulationFailure($"node {host.Id} persisted entry {e.Index} without entry {e.Index - 1}");
            var prefix = Mix(previous, e);
            prefixes[e.Index] = prefix;
            if (_prefixByEntry.TryGetValue((e.Index, e.Term), out var known))
            {
                if (known != prefix) throw new SimulationFailure($"log matching: node {host.Id} has entry {e.Index}/{e.Term} with a different log before it");
            }
            else
            {
                _prefixByEntry[(e.Index, e.Term)] = prefix;
            }
        }
        var last = entries[^1].Index;
        for (var i = last + 1; i <= oldLast; i++) prefixes.Remove(i);
        _hostLastPersisted[host.Id] = last;
    }

    public void OnSnapshotInstalled(TestHost host, SnapshotMetadata snapshot)
    {
        if (!_applied.TryGetValue(snapshot.Index, out var committed))
            throw new SimulationFailure($"node {host.Id} installed a snapshot at {snapshot.Index}, which nobody applied");
        if (committed.Term != snapshot.Term)
            throw new SimulationFailure($"node {host.Id} installed snapshot {snapshot.Index}/{snapshot.Term} but {committed.Term} was committed there");
        Stats.SnapshotsInstalled++;
        var prefixes = PrefixesOf(host.Id);
        prefixes.Clear();
        prefixes[snapshot.Index] = committed.Prefix;
        _hostLastPersisted[host.Id] = snapshot.Index;
    }

    public void OnApplied(TestHost host, Entry e)
    {
        var prefix = PrefixesOf(host.Id).TryGetValue(e.Index, out var p) ? p
            : throw new SimulationFailure($"node {host.Id} applied entry {e.Index} that it has not persisted");
        if (_applied.TryGetValue(e.Index, out var other))
        {
            if (other != (e.Term, prefix))
                throw new SimulationFailure($"state machine safety: node {host.Id} applied {e.Index}/{e.Term}, another node applied {e.Index}/{other.Term} (or a different history)");
        }
        else
        {
            _applied[e.Index] = (e.Term, prefix);
            MaxCommittedIndex = Math.Max(MaxCommittedIndex, e.Index);
            if (e.Type == EntryType.ConfChange && e.Term > 1) // term 1 = bootstrap
            {
                Stats.ConfChangesCommitted++;
                // The simulator adds members as standbys only: a voter role comes from auto-promotion.
                if (ConfChange.Decode(e.Data.Span) is { Type: ConfChangeType.AddOrUpdate, Member.Role: MemberRole.Voter }) Stats.Promotions++;
            }
        }
        if (e.Type != EntryType.Normal || e.Data.Length < 8) return;
        var id = ProposalId(e);
        if (_proposals.TryGetValue(id, out var proposal) && proposal.Host == host.Id && proposal.Incarnation == host.Incarnation && !proposal.Acked)
        {
            proposal.Acked = true;
            AckedProposals.Add(id);
            Stats.WritesAcknowledged++;
            MaxAckedIndex = Math.Max(MaxAckedIndex, e.Index);
        }
    }

    /// <summary>Election safety, leader completeness and lease safety for one live member.</summary>
    public void CheckNode(TestHost host)
    {
        var node = host.Raft;
        if (node.State != RaftState.Leader) return;
        if (_leaderOfTerm.TryGetValue(node.Term, out var leader))
        {
            if (leader != host.Id) throw new SimulationFailure($"election safety: nodes {leader} and {host.Id} both lead term {node.Term}");
        }
        else
        {
            _leaderOfTerm[node.Term] = host.Id;
            Stats.LeadersElected++;
            // Leader completeness: a new leader holds every entry committed so far.
            var log = node.Log;
            if (MaxCommittedIndex > 0 && MaxCommittedIndex + 1 >= log.FirstIndex &&
                (!log.TryTerm(MaxCommittedIndex, out var term) || term != _applied[MaxCommittedIndex].Term))
                throw new SimulationFailure($"leader completeness: node {host.Id} leads term {node.Term} without committed entry {MaxCommittedIndex}");
        }
        // Lease safety: while the lease holds, no other leader can have acknowledged newer writes.
        if (!node.LeaseValid) return;
        Stats.LeaseChecks++;
        if (node.Log.Committed < MaxAckedIndex)
            throw new SimulationFailure($"lease safety: node {host.Id} holds a lease at commit {node.Log.Committed}, but index {MaxAckedIndex} was acknowledged");
    }

    /// <summary>No acknowledged write is lost: every listed member's state machine holds all of them.</summary>
    public void CheckAcknowledgedWritesPresent(TestHost host)
    {
        var present = host.StateMachine.Where(e => e.Data.Length >= 8).Select(ProposalId).ToHashSet();
        foreach (var id in AckedProposals)
            if (!present.Contains(id)) throw new SimulationFailure($"acknowledged proposal {id} is missing on node {host.Id}");
    }

    public void Forget(ulong hostId)
    {
        _hostPrefixes.Remove(hostId);
        _hostLastPersisted.Remove(hostId);
    }

    public void OnBootstrap(TestHost host)
    {
        PrefixesOf(host.Id)[0] = 0;
        OnPersisted(host, host.Storage.Entries(1, host.Storage.LastIndex + 1, long.MaxValue));
    }

    public void OnJoin(TestHost host) => PrefixesOf(host.Id)[0] = 0;

    private Dictionary<ulong, ulong> PrefixesOf(ulong host)
    {
        if (!_hostPrefixes.TryGetValue(host, out var prefixes)) _hostPrefixes[host] = prefixes = [];
        return prefixes;
    }

    private static ulong Mix(ulong previous, Entry e)
    {
        // FNV-1a over the previous prefix hash, the entry's term, type and data.
        var h = previous ^ 0xcbf29ce484222325UL;
        h = (h ^ e.Term) * 0x100000001b3UL;
        h = (h ^ (ulong)e.Type) * 0x100000001b3UL;
        foreach (var b in e.Data.Span) h = (h ^ b) * 0x100000001b3UL;
        return h;
    }
}
