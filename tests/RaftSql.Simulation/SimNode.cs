using RaftSql.Gateway;
using RaftSql.Hosting;
using RaftSql.Sqlite;
using RaftSql.Storage;

namespace RaftSql.Simulation;

/// <summary>
/// One simulated member: the real host loop, log store, replication engine (with its VFS, on real files in
/// the seed's directory) and gateway, wired as <see cref="Node"/> wires them, minus sockets and threads.
/// A crash drops the incarnation; a restart opens a new one from the same directory.
/// </summary>
internal sealed partial class SimNode
{
    private readonly SimCluster _cluster;
    private readonly Dictionary<ulong, ClientSession> _sessions = [];

    public SimNode(SimCluster cluster, ulong id, string directory, long driftPpm)
    {
        _cluster = cluster;
        Id = id;
        Directory = directory;
        DriftPpm = driftPpm;
        Disk = new SimDisk(new Random(cluster.Seed * 31 + (int)id), cluster.DiskStats) { CrashPoint = CrashPoint };
    }

    /// <summary>The disk under the Raft log store (the databases are on real files).</summary>
    public SimDisk Disk { get; }

    public ulong Id { get; }

    public string Directory { get; }

    public long DriftPpm { get; }

    public int Incarnation { get; private set; }

    public bool IsUp { get; private set; }

    /// <summary>Until when (virtual time) the node is frozen: no ticks, no loop.</summary>
    public long FrozenUntil { get; set; }

    public NodeClock Clock { get; private set; } = null!;

    public RaftHost Host { get; private set; } = null!;

    public RequestRouter Router { get; private set; } = null!;

    public LocalDatabases Databases { get; private set; } = null!;

    public string SnapshotDirectory => Path.Combine(Directory, "snapshots");

    public void Start()
    {
        Incarnation++;
        var scheduler = _cluster.Scheduler;
        Clock = new NodeClock(scheduler, DriftPpm, () => FrozenUntil);
        var options = new NodeOptions
        {
            Id = Id,
            Address = $"sim:{Id}",
            DataDirectory = Directory,
            InitialCluster = _cluster.InitialMembers,
            HeartbeatInterval = TimeSpan.FromMilliseconds(50),
            ElectionTimeout = TimeSpan.FromMilliseconds(300),
            CommitTimeout = TimeSpan.FromSeconds(3),
            RequestTimeout = TimeSpan.FromSeconds(3),
            CompactionThreshold = _cluster.CompactionThreshold,
            Runtime = new NodeRuntime
            {
                Time = Clock,
                Dispatch = scheduler.Post,
                ManualLoop = true,
                RandomSeed = (ulong)(_cluster.Seed * 1000 + (long)Id * 10 + Incarnation),
                Files = Disk,
            },
        };
        System.IO.Directory.CreateDirectory(Directory);
        StagedSnapshot.Sweep(SnapshotDirectory);
        var raftDirectory = Path.Combine(Directory, "raft");
        if (OpenStore(raftDirectory) is not { } store)
            return;
        if (store.IsEmpty)
            store.Bootstrap([.. options.InitialCluster.Select(m => new Raft.Member(m.Id, WireMapper.ToMemberRole(m.Role), m.Address))]);
        IsUp = true;
        Host = new RaftHost(options, store, committer => new ReplicationEngine(new EngineOptions
        {
            DataDirectory = Path.Combine(Directory, "db"),
            Committer = committer,
            MaintenanceInterval = TimeSpan.Zero,
        }), new SimPeerTransport(_cluster.Network, this), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        Databases = new LocalDatabases(Host.Engine, options.Runtime);
        Host.LeadershipLost += Databases.InterruptWriters;
        Host.LeadershipLost += Databases.AbortTransactions;
        Host.InstallingSnapshot += Databases.CloseAll;
        Router = new RequestRouter(Host, Databases, new SimLeaderLink(_cluster.Network, scheduler, this, options.RequestTimeout, _cluster.Trace), options);
        Services = new NodeServices(options, Host, Databases, Router);
        Host.BeforeApply = _ =>
        {
            if (CrashDuringReplay && !Host.Replayed)
            {
                CrashDuringReplay = false;
                CrashPoint("during replay");
            }
        };
        _sessions.Clear();
        _cluster.Trace.Add($"node {Id} up: incarnation {Incarnation}, applied {Host.Status.Applied}, start commit {Host.StartCommit}");
    }

    public NodeServices Services { get; private set; } = null!;

    /// <summary>Armed: the process dies right after its next batch of appends went out, before its own fsync
    /// of them (the leader writes its log in parallel with sending).</summary>
    public bool CrashAfterAppendsSent { get; set; }

    /// <summary>Armed: the process dies in its next batch of applies while it is still replaying its log.</summary>
    public bool CrashDuringReplay { get; set; }

    /// <summary>Throws <see cref="SimulatedCrash"/> when an armed crash point is reached (called from inside the loop).</summary>
    public void CrashPoint(string where)
    {
        _cluster.Trace.Add($"node {Id} dies {where}");
        _cluster.CrashPoints++;
        throw new SimulatedCrash(where);
    }

    /// <summary>The session that serves requests forwarded by node <paramref name="from"/>.</summary>
    public ClientSession SessionFor(ulong from)
    {
        if (!_sessions.TryGetValue(from, out var session))
            _sessions[from] = session = new ClientSession(Services);
        return session;
    }

    /// <summary>Kills the incarnation: nothing graceful happens (see <see cref="RaftHost.Crash"/>).</summary>
    public void Crash()
    {
        CrashAfterAppendsSent = false;
        _cluster.Trace.Add($"node {Id} down: applied {Host.Status.Applied}, commit {Host.Status.Commit}");
        IsUp = false;
        Clock.Dead = true;
        FrozenUntil = 0;
        _sessions.Clear();
        Databases.Dispose();
        Host.Crash();
        CrashDisk();
    }

    /// <summary>Runs one batch of the loop when there is work and the node is not frozen.</summary>
    public bool RunLoopOnce()
    {
        if (!IsUp || FrozenUntil > _cluster.Scheduler.Now || !Host.RunOnce())
            return false;
        if (Host.Failure?.InnerException is SimulatedCrash)
            _cluster.Crashed(this); // the loop died at a crash point: the process is gone
        else if (Host.Failure is { } failure && DiskFaultExplains(failure))
        {
            // The node reported the fault and stopped, as it must; an operator restarts it.
            _cluster.Trace.Add($"node {Id} stopped by a disk fault: {WithoutRoot(failure.Message)}");
            _cluster.Crashed(this);
        }
        else if (Host.Failure is null)
            ThrowIfDiskFaultIgnored();
        return true;
    }
}

/// <summary>Thrown at an armed crash point inside a node's loop: the process dies there.</summary>
internal sealed class SimulatedCrash(string where) : Exception($"Simulated crash {where}.");
