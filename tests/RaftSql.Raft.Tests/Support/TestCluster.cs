using RaftSql.Raft;

namespace RaftSql.Raft.Tests.Support;

/// <summary>
/// A deterministic cluster for table and scenario tests: messages are delivered in FIFO order by
/// <see cref="Stabilize"/>, unless a link is cut or a filter drops them.
/// </summary>
internal sealed class TestCluster
{
    private readonly Queue<(Message Message, List<Entry>? SnapshotData)> _inflight = new();
    private readonly HashSet<(ulong From, ulong To)> _cut = [];
    private readonly Func<RaftConfig, RaftConfig> _configure;
    private ulong _seed;

    public TestCluster(int voters, Func<RaftConfig, RaftConfig>? configure = null)
        : this(voters, _ => [], configure)
    {
    }

    /// <summary>
    /// A cluster whose members start with the bootstrap entries (indexes 1..voters, term 1) followed by
    /// entries of the given terms, e.g. to set up the diverging logs of the Raft paper's figures.
    /// </summary>
    public TestCluster(int voters, Func<ulong, ulong[]> extraTerms, Func<RaftConfig, RaftConfig>? configure = null)
    {
        _configure = configure ?? (c => c);
        Members = Enumerable.Range(1, voters).Select(i => new Member((ulong)i, MemberRole.Voter, $"node{i}")).ToList();
        // Every member starts in the highest term any log mentions, as it would have seen it.
        var term = Members.SelectMany(m => extraTerms(m.Id)).DefaultIfEmpty(1UL).Max();
        foreach (var m in Members)
        {
            var storage = MemoryStorage.Bootstrap(Members);
            var terms = extraTerms(m.Id);
            var first = storage.LastIndex + 1;
            storage.Append([.. terms.Select((t, i) => new Entry(t, first + (ulong)i, EntryType.Normal, new byte[] { (byte)t }))]);
            storage.SetHardState(storage.HardState with { Term = term });
            Hosts[m.Id] = new TestHost(m.Id, storage, ConfigFor);
        }
        ProcessAll();
    }

    public IReadOnlyList<Member> Members { get; }

    public Dictionary<ulong, TestHost> Hosts { get; } = [];

    /// <summary>Drops a message when it returns true.</summary>
    public Func<Message, bool>? Drop { get; set; }

    public List<Message> Delivered { get; } = [];

    public RaftNode this[ulong id] => Hosts[id].Raft;

    public RaftConfig ConfigFor(ulong id) =>
        _configure(new RaftConfig { Id = id, Random = new SeededRandomSource(id * 7919 + ++_seed) });

    /// <summary>Adds a host that joins with an empty log (it learns the membership from the leader).</summary>
    public TestHost AddJoiningHost(ulong id)
    {
        var host = new TestHost(id, new MemoryStorage(), ConfigFor);
        Hosts[id] = host;
        return host;
    }

    public void Cut(ulong a, ulong b)
    {
        _cut.Add((a, b));
        _cut.Add((b, a));
    }

    public void Isolate(ulong id)
    {
        foreach (var other in Hosts.Keys.Where(o => o != id)) Cut(id, other);
    }

    public void Heal() => _cut.Clear();

    /// <summary>Restores the link between two nodes in both directions (other cuts stay).</summary>
    public void Restore(ulong a, ulong b)
    {
        _cut.Remove((a, b));
        _cut.Remove((b, a));
    }

    /// <summary>Delivers <paramref name="message"/> now (e.g. one held back by <see cref="Drop"/>), then stabilizes.</summary>
    public void Deliver(Message message)
    {
        Delivered.Add(message);
        Hosts[message.To].Raft.Step(message);
        Stabilize();
    }

    /// <summary>Ticks one member and processes its Ready (messages stay queued).</summary>
    public void Tick(ulong id, int times = 1)
    {
        for (var i = 0; i < times; i++)
        {
            Hosts[id].Raft.Tick();
            ProcessAll();
        }
    }

    public void TickAll(int times = 1)
    {
        for (var i = 0; i < times; i++)
        {
            foreach (var host in Hosts.Values.Where(h => h.IsUp)) host.Raft.Tick();
            Stabilize();
        }
    }

    /// <summary>Forces <paramref name="id"/> to campaign now (as a TimeoutNow would), then delivers everything.</summary>
    public void Campaign(ulong id)
    {
        var node = Hosts[id].Raft;
        var other = Hosts.Keys.First(k => k != id);
        node.Step(new Message { Type = MessageType.TimeoutNow, From = other, To = id, Term = node.Term });
        Stabilize();
    }

    /// <summary>Ticks every member in lockstep, delivering after each tick, until a leader exists.</summary>
    public TestHost TickUntilLeader(int maxTicks = 1000)
    {
        for (var i = 0; i < maxTicks; i++)
        {
            if (LeaderHost is { } leader) return leader;
            TickAll();
        }
        throw new InvalidOperationException("No leader was elected.");
    }

    public void ElectLeader(ulong id)
    {
        Campaign(id);
        Assert.Equal(RaftState.Leader, Hosts[id].Raft.State);
    }

    public ProposeResult Propose(ulong id, string text)
    {
        var result = Hosts[id].Raft.Propose(System.Text.Encoding.UTF8.GetBytes(text));
        Stabilize();
        return result;
    }

    /// <summary>Delivers queued messages (and the messages they cause) until the cluster is quiet.</summary>
    public void Stabilize(int maxMessages = 100_000)
    {
        ProcessAll();
        for (var n = 0; _inflight.Count > 0; n++)
        {
            if (n > maxMessages) throw new InvalidOperationException("The cluster does not stabilize.");
            DeliverOne();
        }
    }

    /// <summary>Delivers only the next queued message; returns false when none is queued.</summary>
    public bool DeliverOne()
    {
        if (!_inflight.TryDequeue(out var item)) return false;
        var (m, data) = item;
        var target = Hosts.GetValueOrDefault(m.To);
        var from = Hosts.GetValueOrDefault(m.From);
        if (target is not { IsUp: true } || _cut.Contains((m.From, m.To)) || Drop?.Invoke(m) == true)
        {
            if (m.Type == MessageType.Snapshot && from is { IsUp: true }) from.Raft.ReportSnapshot(m.To, false);
            ProcessAll();
            return true;
        }
        Delivered.Add(m);
        if (data is not null) target.SnapshotData[m.Snapshot!.Index] = data;
        target.Raft.Step(m);
        if (m.Type == MessageType.Snapshot && from is { IsUp: true }) from.Raft.ReportSnapshot(m.To, true);
        ProcessAll();
        return true;
    }

    public void ProcessAll()
    {
        foreach (var host in Hosts.Values)
        {
            while (host.IsUp && host.Raft.HasReady)
                foreach (var m in host.ProcessReady())
                    _inflight.Enqueue((m, m.Type == MessageType.Snapshot ? host.SnapshotFor(m.Snapshot!) : null));
        }
    }

    public int QueuedMessages => _inflight.Count;

    public IEnumerable<Message> Queued => _inflight.Select(i => i.Message);

    public void ClearQueue() => _inflight.Clear();

    public TestHost? LeaderHost => Hosts.Values.Where(h => h.IsUp && h.Raft.State == RaftState.Leader).MaxBy(h => h.Raft.Term);
}
