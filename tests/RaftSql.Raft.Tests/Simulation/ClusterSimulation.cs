using RaftSql.Raft.Tests.Support;

namespace RaftSql.Raft.Tests.Simulation;

/// <summary>
/// One seeded run: a cluster of 3, 5 or 7 members under a chaos phase (network faults, crashes, membership
/// changes, transfers, compaction, client writes and reads), then a healed phase in which the cluster must
/// elect a leader and commit a write on every member within a bound. Invariants are checked after every step.
/// Time is simulated in milliseconds; a tick is 10 ms. Everything derives from the seed.
/// </summary>
internal sealed class ClusterSimulation
{
    private const int TickMs = 10;
    private const int ChaosMs = 1500;
    /// <summary>Liveness bound: after healing, 300 ticks (30 election timeouts) to elect and commit everywhere.</summary>
    private const int LivenessMs = 3000;
    private const int MaxHosts = 9;

    private readonly int _seed;
    private readonly Random _rng;
    private readonly PriorityQueue<SimEvent, (long Time, long Seq)> _events = new();
    private readonly Dictionary<ulong, TestHost> _hosts = [];
    private readonly Dictionary<ulong, bool> _readyScheduled = [];
    private readonly SafetyChecker _checker = new();
    private readonly SimNetwork _network = new();
    private readonly Queue<string>? _trace;
    private long _now;
    private long _seq;
    private ulong _nextHostId;
    private ulong _nextProposal = 1;
    private ulong _nextRead = 1;
    private int _configSeed;
    private bool _healed;
    private (ulong Proposal, ulong Index)? _final;

    public ClusterSimulation(int seed, bool trace = false)
    {
        _seed = seed;
        _rng = new Random(seed);
        if (trace) _trace = new Queue<string>();
        ClusterSize = 3 + 2 * (seed % 3);
    }

    public int ClusterSize { get; }

    public long Steps { get; private set; }

    public SimulationStats Stats => _checker.Stats;

    private abstract record SimEvent;
    private sealed record TickEvent(ulong Host) : SimEvent;
    private sealed record ReadyEvent(ulong Host, int Incarnation) : SimEvent;
    private sealed record DeliverEvent(Message Message, List<Entry>? SnapshotData) : SimEvent;
    private sealed record ApplyEvent(ulong Host, int Incarnation) : SimEvent;
    private sealed record ChaosEvent : SimEvent;
    private sealed record RestartEvent(ulong Host) : SimEvent;

    /// <summary>Runs to completion; throws <see cref="SimulationFailure"/> on a violated invariant.</summary>
    public void Run()
    {
        var members = Enumerable.Range(1, ClusterSize).Select(i => new Member((ulong)i, MemberRole.Voter, $"sim{i}")).ToList();
        _nextHostId = (ulong)ClusterSize + 1;
        foreach (var m in members)
        {
            var host = new TestHost(m.Id, MemoryStorage.Bootstrap(members), ConfigFor);
            _hosts[m.Id] = host;
            _checker.OnBootstrap(host);
            Schedule(_rng.Next(TickMs), new TickEvent(m.Id));
            ScheduleReady(host);
        }
        Schedule(1, new ChaosEvent());

        while (_events.TryDequeue(out var ev, out var at))
        {
            _now = at.Time;
            if (!_healed && _now >= ChaosMs) Heal();
            if (_now > ChaosMs + LivenessMs)
                throw new SimulationFailure($"liveness: no leader committed a write on every member within {LivenessMs} ms after healing");
            Steps++;
            Trace(ev);
            Execute(ev);
            foreach (var host in _hosts.Values)
                if (host.IsUp) _checker.CheckNode(host);
            if (_healed && LivenessReached()) break;
        }
        foreach (var host in CurrentMembers()) _checker.CheckAcknowledgedWritesPresent(host);
    }

    public string Describe(Exception e)
    {
        var trace = _trace is null ? "" : "\nLast events:\n  " + string.Join("\n  ", _trace);
        return $"Simulation seed {_seed} ({ClusterSize} nodes) failed at step {Steps}, t={_now} ms: {(e is SimulationFailure ? e.Message : e.ToString())}\n" +
               $"Replay: RAFTSQL_SIM_SEED={_seed} dotnet test tests/RaftSql.Raft.Tests --filter Category=Simulation{trace}";
    }

    private RaftConfig ConfigFor(ulong id) => new()
    {
        Id = id,
        ElectionTicks = 10,
        HeartbeatTicks = 1,
        MaxInflightMessages = 4,
        MaxBytesPerMessage = 400,
        PromotionLag = 5,
        Random = new SeededRandomSource((ulong)_seed * 1_000_003UL + (ulong)++_configSeed),
    };

    private void Schedule(long delayMs, SimEvent ev) => _events.Enqueue(ev, (_now + delayMs, _seq++));

    private void Execute(SimEvent ev)
    {
        switch (ev)
        {
            case TickEvent tick:
                Schedule(TickMs, tick);
                if (_hosts[tick.Host] is { IsUp: true } ticked)
                {
                    ticked.Raft.Tick();
                    ScheduleReady(ticked);
                }
                break;
            case ReadyEvent ready:
                _readyScheduled[ready.Host] = false;
                var host = _hosts[ready.Host];
                if (!host.IsUp || host.Incarnation != ready.Incarnation) break;
                foreach (var m in host.PersistReady(_checker)) Send(host, m);
                // Half of the time the host applies later, as a pipelined host does: messages are
                // stepped in between, and a crash in between loses the apply (not the persisted log).
                if (_rng.Next(2) == 0) ApplyAndContinue(host);
                else Schedule(1 + _rng.Next(3), new ApplyEvent(ready.Host, ready.Incarnation));
                break;
            case ApplyEvent apply:
                var applier = _hosts[apply.Host];
                if (applier.IsUp && applier.Incarnation == apply.Incarnation && applier.HasOutstandingReady) ApplyAndContinue(applier);
                break;
            case DeliverEvent deliver:
                Deliver(deliver);
                break;
            case RestartEvent restart:
                if (!_hosts[restart.Host].IsUp) Restart(_hosts[restart.Host]);
                break;
            case ChaosEvent:
                Schedule(1 + _rng.Next(8), ev);
                if (_healed) DriveLiveness();
                else Chaos();
                break;
        }
    }

    private void ApplyAndContinue(TestHost host)
    {
        host.ApplyReady(_checker);
        ScheduleReady(host);
    }

    /// <summary>A Ready is processed after a simulated disk latency: a crash before then loses it.</summary>
    private void ScheduleReady(TestHost host)
    {
        if (!host.IsUp || !host.Raft.HasReady || _readyScheduled.GetValueOrDefault(host.Id)) return;
        _readyScheduled[host.Id] = true;
        Schedule(_rng.Next(3), new ReadyEvent(host.Id, host.Incarnation));
    }

    private void Send(TestHost from, Message m)
    {
        var data = m.Type == MessageType.Snapshot ? from.SnapshotFor(m.Snapshot!) : null;
        if (_network.IsBlocked(m.From, m.To) || _rng.Next(100) < _network.DropPercent)
        {
            if (data is not null) from.Raft.ReportSnapshot(m.To, false);
            return;
        }
        Schedule(1 + _rng.Next(_network.MaxDelayMs), new DeliverEvent(m, data));
        if (_rng.Next(100) < _network.DuplicatePercent) Schedule(1 + _rng.Next(2 * _network.MaxDelayMs), new DeliverEvent(m, data));
    }

    private void Deliver(DeliverEvent deliver)
    {
        var m = deliver.Message;
        var sender = _hosts[m.From];
        if (!_hosts.TryGetValue(m.To, out var target) || !target.IsUp || _network.IsBlocked(m.From, m.To))
        {
            if (deliver.SnapshotData is not null && sender.IsUp) sender.Raft.ReportSnapshot(m.To, false);
            return;
        }
        if (deliver.SnapshotData is not null) target.SnapshotData[m.Snapshot!.Index] = deliver.SnapshotData;
        if (m.Type == MessageType.TimeoutNow) Stats.TimeoutNowDelivered++;
        target.Raft.Step(m);
        ScheduleReady(target);
        if (deliver.SnapshotData is not null && sender.IsUp)
        {
            sender.Raft.ReportSnapshot(m.To, true);
            ScheduleReady(sender);
        }
    }

    private void Restart(TestHost host)
    {
        host.Start();
        _readyScheduled[host.Id] = false;
        ScheduleReady(host);
    }

    private void Heal()
    {
        _healed = true;
        _network.Calm();
        foreach (var host in _hosts.Values.Where(h => !h.IsUp)) Restart(host);
    }

    private TestHost? Leader() =>
        _hosts.Values.Where(h => h.IsUp && h.Raft.State == RaftState.Leader).MaxBy(h => h.Raft.Term);

    private IEnumerable<TestHost> CurrentMembers()
    {
        var leader = Leader();
        if (leader is null) return [];
        return leader.Raft.Status.Membership.ReplicationTargets.Select(id => _hosts[id]);
    }

    private TestHost? RandomUpHost()
    {
        var up = _hosts.Values.Where(h => h.IsUp).ToList();
        return up.Count == 0 ? null : up[_rng.Next(up.Count)];
    }

    private void Chaos()
    {
        var roll = _rng.Next(100);
        switch (roll)
        {
            case < 40: ProposeAt(Leader()); break;
            case < 44: ProposeAt(RandomUpHost()); break;
            case < 54: IssueRead(RandomUpHost()); break;
            case < 57: Crash(); break;
            case < 60: PartitionRandomly(); break;
            case < 62: BlockOneDirection(); break;
            case < 65: _network.HealPartitions(); break;
            case < 68: ChangeTurbulence(); break;
            case < 71: AddStandby(); break;
            case < 73: RemoveMember(); break;
            case < 74: ToggleSpare(); break;
            case < 77: TransferLeadership(); break;
            case < 82: RandomUpHost()?.Compact(); break;
            case < 84: IsolateLeader(); break;
        }
    }

    private void DriveLiveness()
    {
        var roll = _rng.Next(100);
        if (roll < 30) ProposeAt(Leader());
        else if (roll < 40) IssueRead(RandomUpHost());
        // Keep offering a final write until one is accepted by a leader that still leads.
        var leader = Leader();
        if (leader is null) return;
        // A final write can be lost (its leader was deposed, or crashed before answering): offer another.
        if (_final is { } f && !_checker.AckedProposals.Contains(f.Proposal) &&
            (_checker.MaxCommittedIndex >= f.Index || leader.Raft.Status.LastIndex < f.Index))
            _final = null;
        if (_final is null && ProposeAt(leader) is { } final) _final = final;
    }

    private bool LivenessReached()
    {
        if (_final is not { } f || !_checker.AckedProposals.Contains(f.Proposal)) return false;
        var members = CurrentMembers().ToList();
        return members.Count > 0 && members.All(h => h.IsUp && h.AppliedIndex >= Math.Max(f.Index, _checker.MaxCommittedIndex));
    }

    private (ulong Proposal, ulong Index)? ProposeAt(TestHost? host)
    {
        if (host is null) return null;
        var id = _nextProposal++;
        var result = host.Raft.Propose(SafetyChecker.ProposalData(id, _rng.Next(120)));
        ScheduleReady(host);
        if (!result.Accepted) return null;
        _checker.OnProposed(host, id);
        return (id, result.Index);
    }

    private void IssueRead(TestHost? host)
    {
        if (host is null) return;
        var id = _nextRead++;
        _checker.OnReadIssued(id);
        host.Raft.ReadIndex(id);
        ScheduleReady(host);
    }

    private void Crash()
    {
        if (RandomUpHost() is not { } host) return;
        host.Crash();
        Stats.Crashes++;
        _readyScheduled[host.Id] = false;
        Schedule(20 + _rng.Next(500), new RestartEvent(host.Id));
    }

    private void PartitionRandomly()
    {
        var ids = _hosts.Keys.OrderBy(_ => _rng.Next()).ToList();
        var cut = 1 + _rng.Next(ids.Count - 1);
        _network.Partition(ids[..cut], ids[cut..]);
    }

    private void IsolateLeader()
    {
        if (Leader() is not { } leader) return;
        _network.Partition([leader.Id], [.. _hosts.Keys.Where(id => id != leader.Id)]);
    }

    private void BlockOneDirection()
    {
        var ids = _hosts.Keys.ToList();
        var from = ids[_rng.Next(ids.Count)];
        var to = ids[_rng.Next(ids.Count)];
        if (from != to) _network.Block(from, to);
    }

    private void ChangeTurbulence()
    {
        _network.DropPercent = _rng.Next(4) == 0 ? 0 : _rng.Next(25);
        _network.DuplicatePercent = _rng.Next(6);
        _network.MaxDelayMs = 2 + _rng.Next(_rng.Next(3) == 0 ? 40 : 8);
    }

    private void AddStandby()
    {
        if (Leader() is not { } leader || _hosts.Count >= MaxHosts) return;
        var id = _nextHostId;
        var result = leader.Raft.ProposeConfChange(ConfChange.AddOrUpdate(new Member(id, MemberRole.Standby, $"sim{id}")));
        ScheduleReady(leader);
        if (!result.Accepted) return;
        _nextHostId++;
        var host = new TestHost(id, new MemoryStorage(), ConfigFor);
        _hosts[id] = host;
        _checker.OnJoin(host);
        Schedule(_rng.Next(TickMs), new TickEvent(id));
    }

    private void RemoveMember()
    {
        if (Leader() is not { } leader) return;
        var members = leader.Raft.Status.Membership.Members;
        var victim = members[_rng.Next(members.Count)];
        var result = leader.Raft.ProposeConfChange(ConfChange.Remove(victim.Id));
        if (result.Accepted && victim.Id == leader.Id) Stats.LeaderSelfRemovals++;
        ScheduleReady(leader);
    }

    private void ToggleSpare()
    {
        if (Leader() is not { } leader) return;
        var candidates = leader.Raft.Status.Membership.Members.Where(m => m.Role != MemberRole.Voter).ToList();
        if (candidates.Count == 0) return;
        var m = candidates[_rng.Next(candidates.Count)];
        var role = m.Role == MemberRole.Spare ? MemberRole.Standby : MemberRole.Spare;
        leader.Raft.ProposeConfChange(ConfChange.AddOrUpdate(m with { Role = role }));
        ScheduleReady(leader);
    }

    private void TransferLeadership()
    {
        if (RandomUpHost() is not { } host) return;
        var voters = host.Raft.Status.Membership.Voters;
        if (voters.Count == 0) return;
        host.Raft.TransferLeadership(voters[_rng.Next(voters.Count)]);
        ScheduleReady(host);
    }

    private void Trace(SimEvent ev)
    {
        if (_trace is null) return;
        var text = ev switch
        {
            DeliverEvent d => $"{_now}: deliver {d.Message}",
            TickEvent t => $"{_now}: tick {t.Host} {Describe(t.Host)}",
            ReadyEvent r => $"{_now}: ready {r.Host} {Describe(r.Host)}",
            RestartEvent r => $"{_now}: restart {r.Host}",
            ApplyEvent a => $"{_now}: apply {a.Host} {Describe(a.Host)}",
            _ => $"{_now}: chaos",
        };
        _trace.Enqueue(text);
        if (_trace.Count > 300) _trace.Dequeue();
    }

    private string Describe(ulong id)
    {
        var h = _hosts[id];
        if (!h.IsUp) return "(down)";
        var s = h.Raft.Status;
        return $"[{s.State} t{s.Term} lead{s.Leader} commit{s.Commit} applied{s.Applied} last{s.LastIndex} members {s.Membership}{string.Concat(s.Progress.Select(p => $" {p.Key}:{p.Value.State}/{p.Value.Match}/{p.Value.Next}"))}]";
    }
}
