using RaftSql.Protocol;

namespace RaftSql.Simulation;

/// <summary>
/// One seed of the whole-node simulation: 3 or 5 nodes, a seeded fault schedule (crashes and restarts,
/// freezes, partitions, loss, duplication, delay, leadership transfers), clients running a bank and an
/// append workload through the gateway, and the checks at the end.
/// </summary>
internal sealed class SimCluster : IDisposable
{
    public const string Database = "app";
    private readonly Random _random;
    private readonly string _root;
    private readonly List<SimClient> _clients = [];

    public SimCluster(int seed, bool keepTrace = false)
    {
        Seed = seed;
        _random = new Random(seed);
        DiskRandom = new Random(seed * 7 + 1);
        Scheduler = new SimScheduler();
        Trace = new Trace(Scheduler, keepTrace);
        Network = new SimNetwork(Scheduler, _random, Trace)
        {
            DropRate = _random.NextDouble() * 0.05,
            DuplicateRate = _random.NextDouble() * 0.03,
            MaxDelay = 1_000 + _random.NextInt64(15_000),
        };
        Size = _random.Next(2) == 0 ? 3 : 5;
        CompactionThreshold = _random.Next(2) == 0 ? 32 : 100_000; // small: snapshots happen
        InitialMembers = [.. Enumerable.Range(1, Size).Select(i => new NodeInfo((ulong)i, $"sim:{i}"))];
        _root = Path.Combine(Path.GetTempPath(), "raftsql-nodesim", $"{seed}-{Guid.NewGuid():N}");
        for (var i = 1; i <= Size; i++)
            Network.Nodes[(ulong)i] = new SimNode(this, (ulong)i, Path.Combine(_root, $"n{i}"), _random.NextInt64(-2000, 2001));
        Scheduler.Idle = () => Network.Nodes.Values.Any(n => n.RunLoopOnce());
        History = new History(Trace);
        Membership = new SimMembership(this, new Random(_random.Next()));
        _snapshotCrashes = _random.Next(2) == 0;
    }

    /// <summary>Removes a voter and adds it back (see <see cref="SimMembership"/>).</summary>
    public SimMembership Membership { get; }

    /// <summary>Crashes between a snapshot's files and the log recording it (also counted in <see cref="CrashPoints"/>).</summary>
    public int SnapshotCrashes { get; private set; }

    // This seed crashes nodes, now and then, between a snapshot's files and the log recording it.
    private bool _snapshotCrashes;

    public int Seed { get; }

    /// <summary>Disk faults injected (see <see cref="SimDisk"/>), and the seeded choices they take.</summary>
    public DiskStats DiskStats { get; } = new();

    public Random DiskRandom { get; }

    /// <summary>Crashes at a point inside a loop batch (after appends were sent, during replay).</summary>
    public int CrashPoints { get; set; }

    public int Size { get; }

    public int CompactionThreshold { get; }

    public IReadOnlyList<NodeInfo> InitialMembers { get; }

    public SimScheduler Scheduler { get; }

    public SimNetwork Network { get; }

    public Trace Trace { get; }

    public History History { get; }

    public string ReplayCommand =>
        $"RAFTSQL_NODESIM_SEED={Seed} dotnet test tests/RaftSql.Simulation --filter \"FullyQualifiedName~Seeded_whole_node\"";

    private const long Ms = 1000;

    public void Run()
    {
        foreach (var node in Network.Nodes.Values)
            StartNode(node);
        foreach (var node in Network.Nodes.Values)
            ScheduleMaintenance(node);
        Setup();
        Membership.Run();
        var workEnd = Scheduler.Now + 3000 * Ms;
        for (var c = 0; c < 3; c++)
        {
            var client = new SimClient(this, c + 1, (ulong)_random.Next(1, Size + 1), new Random(_random.Next()), workEnd);
            _clients.Add(client);
            Scheduler.After(_random.NextInt64(50 * Ms), client.Next);
        }
        for (var t = Scheduler.Now + 100 * Ms; t < workEnd; t += 100 * Ms + _random.NextInt64(400 * Ms))
            Scheduler.At(t, InjectFault);
        SimDiskFaults.Schedule(this, workEnd);
        Scheduler.RunUntil(workEnd);
        HealEverything();
        Settle();
        Check();
    }

    private void StartNode(SimNode node)
    {
        node.Start();
        node.Host.AfterSnapshotFiles = index =>
        {
            if (_snapshotCrashes && _random.Next(2) == 0)
            {
                SnapshotCrashes++;
                node.CrashPoint($"after the files of snapshot {index}, before the log records it");
            }
        };
    }

    private void ScheduleMaintenance(SimNode node)
    {
        Scheduler.After(250 * Ms, () =>
        {
            if (node.IsUp && node.FrozenUntil <= Scheduler.Now)
                node.Host.MaintainOnce();
            ScheduleMaintenance(node);
        });
    }

    private void Setup()
    {
        const string sql = "CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);"
            + "CREATE TABLE IF NOT EXISTS appends (client INTEGER, seq INTEGER, PRIMARY KEY (client, seq));"
            + "INSERT OR IGNORE INTO accounts VALUES (1, 100), (2, 100), (3, 100), (4, 100), (5, 100);";
        Exception? last = null;
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var node = Network.Nodes[(ulong)(attempt % Size + 1)];
            var task = node.Router.ExecuteAsync(Database, sql, [], CancellationToken.None);
            var deadline = Scheduler.Now + 5000 * Ms;
            while (!task.IsCompleted && Scheduler.Now < deadline)
                Scheduler.RunUntil(Scheduler.Now + 10 * Ms);
            if (task.IsCompletedSuccessfully)
            {
                Trace.Add($"setup done at {task.Result.RaftIndex}");
                return;
            }
            last = task.Exception?.InnerException;
        }
        throw new SimulationFailure($"The cluster never accepted the setup write: {last}");
    }

    private void InjectFault()
    {
        var nodes = Network.Nodes.Values.ToList();
        var node = nodes[_random.Next(nodes.Count)];
        switch (_random.Next(8))
        {
            case 0 when node.IsUp && _random.Next(2) == 0:
                Trace.Add($"arm crash of {node.Id} after its next appends are sent");
                node.CrashAfterAppendsSent = true;
                break;
            case 0 or 1 when node.IsUp:
                Trace.Add($"crash {node.Id}");
                node.Crash();
                Crashed(node);
                break;
            case 2 when node.IsUp:
                node.FrozenUntil = Scheduler.Now + 100 * Ms + _random.NextInt64(500 * Ms);
                Trace.Add($"freeze {node.Id} until {node.FrozenUntil}");
                break;
            case 3:
                foreach (var other in nodes.Where(o => o != node))
                {
                    Network.Block(node.Id, other.Id);
                    Network.Block(other.Id, node.Id);
                }
                Trace.Add($"isolate {node.Id}");
                break;
            case 4:
                var to = nodes[_random.Next(nodes.Count)];
                if (to != node)
                    Network.Block(node.Id, to.Id);
                Trace.Add($"block {node.Id}>{to.Id}");
                break;
            case 5:
                Network.Heal();
                Trace.Add("heal");
                break;
            case 6 when node.IsUp && node.Host.Status.IsLeader:
                var target = nodes[_random.Next(nodes.Count)];
                Trace.Add($"transfer {node.Id}>{target.Id}");
                node.Host.TransferLeadership(target.Id);
                break;
            case 7:
                Membership.Begin();
                break;
            default:
                Trace.Add("quiet");
                break;
        }
    }

    /// <summary>After <paramref name="node"/> went down: its clients' operations end unknown; it restarts later.</summary>
    public void Crashed(SimNode node)
    {
        if (node.IsUp)
            node.Crash();
        foreach (var client in _clients)
            client.NodeCrashed(node.Id);
        Scheduler.After(100 * Ms + _random.NextInt64(700 * Ms), () => Restart(node));
    }

    private void Restart(SimNode node)
    {
        if (node.IsUp)
            return;
        node.CrashDuringReplay = _random.Next(4) == 0;
        Trace.Add($"restart {node.Id}{(node.CrashDuringReplay ? " (dies if it replays)" : "")}");
        StartNode(node);
    }

    private void HealEverything()
    {
        Network.Heal();
        Network.DropRate = 0;
        Network.DuplicateRate = 0;
        foreach (var node in Network.Nodes.Values)
        {
            node.FrozenUntil = 0;
            node.CrashAfterAppendsSent = false;
            if (!node.IsUp)
                Restart(node);
            node.CrashDuringReplay = false;
        }
        _snapshotCrashes = false;
        Trace.Add("heal everything");
    }

    /// <summary>Runs until every node has applied the same commit index (and the clients are done).</summary>
    private void Settle()
    {
        var deadline = Scheduler.Now + 30_000 * Ms;
        while (Scheduler.Now < deadline)
        {
            Scheduler.RunUntil(Scheduler.Now + 200 * Ms);
            var statuses = Network.Nodes.Values.Select(n => n.Host.Status).ToList();
            var commit = statuses.Max(s => s.Commit);
            // AcceptsWrites: the leader committed an entry of its own term, so no older entry is left pending.
            if (Network.Nodes.Values.All(n => n.IsUp) && statuses.Any(s => s.IsLeader && s.AcceptsWrites)
                && statuses.All(s => s.Applied == commit && s.Commit == commit)
                && _clients.All(c => c.Done) && Membership.Idle)
                return;
        }
        throw new SimulationFailure($"The healed cluster did not converge{(Membership.Idle ? "" : " (a membership change is under way)")}: "
            + string.Join(", ", Network.Nodes.Values.Select(n => $"{n.Id}: {n.Host.Status.State} t{n.Host.Status.Term} c{n.Host.Status.Commit} a{n.Host.Status.Applied} {(n.Host.Failure?.Message ?? "")}")));
    }

    /// <summary>Reads a whole table on one node, at Local consistency, inside the simulation.</summary>
    public List<string> ReadLocal(SimNode node, string sql)
    {
        var task = node.Router.QueryAsync(Database, sql, [], ReadConsistency.Local, 0, CancellationToken.None);
        Scheduler.Drain();
        if (!task.IsCompleted)
            Scheduler.RunUntil(Scheduler.Now + 100 * Ms);
        var result = task.GetAwaiter().GetResult();
        return [.. result.Rows.Select(r => string.Join("|", r))];
    }

    private void Check()
    {
        History.CheckReads();
        List<string>? first = null;
        foreach (var node in Network.Nodes.Values)
        {
            if (node.Host.Failure is { } failure)
                throw new SimulationFailure($"Node {node.Id}'s loop failed: {failure}");
            var integrity = ReadLocal(node, "PRAGMA integrity_check");
            if (integrity is not ["ok"])
                throw new SimulationFailure($"Node {node.Id}: integrity_check says {string.Join("; ", integrity)}");
            var content = ReadLocal(node, "SELECT 'a', id, balance FROM accounts UNION ALL SELECT 'x', client, seq FROM appends ORDER BY 1, 2, 3");
            first ??= content;
            if (!content.SequenceEqual(first))
                throw new SimulationFailure($"Node {node.Id}'s content differs from node 1's:\n  {string.Join(",", content)}\n  {string.Join(",", first)}");
            History.CheckFinal(node.Id, content);
        }
    }

    public void Dispose()
    {
        foreach (var node in Network.Nodes.Values.Where(n => n.IsUp))
        {
            try
            {
                node.Crash();
            }
            catch (Exception ex) when (ex is IOException or RaftSqlException or ObjectDisposedException or InvalidOperationException)
            {
                // Closing after a failure: the directory goes anyway.
            }
        }
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp directory is reported by df, not by the test.
        }
    }
}

internal sealed class SimulationFailure(string message) : Exception(message);
