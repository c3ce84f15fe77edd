using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RaftSql.Gateway;
using RaftSql.Hosting;
using RaftSql.Protocol;
using RaftSql.Sqlite;
using RaftSql.Storage;
using RaftSql.Transport;

namespace RaftSql;

/// <summary>
/// One member of a RaftSql cluster, hosted in this process: its Raft log, its SQLite databases and
/// its TCP port (shared by peers and clients). Writes from any node go to the leader; reads are
/// served from the local databases at the chosen <see cref="ReadConsistency"/>.
/// </summary>
public sealed class Node : IAsyncDisposable
{
    private readonly NodeOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private TransportServer? _server;
    private FileStream? _directoryLock;
    private RaftHost? _host;
    private LocalDatabases? _databases;
    private LeaderLink? _leaderLink;
    private RequestRouter? _router;
    private NodeServices? _services;
    private Task? _maintenance;
    private CancellationTokenSource? _stopping;
    private ulong _lastWriteIndex;
    private int _state; // 0 new, 1 started, 2 stopped

    public Node(NodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _loggerFactory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<Node>();
    }

    public ulong Id => _options.Id;

    public string Address => _options.Address;

    /// <summary>True while this node is the leader.</summary>
    public bool IsLeader => _host?.Status.IsLeader ?? false;

    /// <summary>The leader this node knows of, or null during an election or when cut off.</summary>
    public ulong? LeaderId => _host?.Status.LeaderId is > 0 and var id ? id : null;

    /// <summary>
    /// Whether this node works: <see cref="NodeHealthState.Failed"/> (with the reason) when its Raft loop
    /// failed, in which case it serves only Local reads and everything else fails with NodeStopped;
    /// <see cref="NodeHealthState.NoLeader"/> while no leader is known; <see cref="NodeHealthState.CatchingUp"/>
    /// while it has not applied all it knows is committed.
    /// </summary>
    public NodeHealth Health
    {
        get
        {
            var host = _host;
            if (host is null || Volatile.Read(ref _state) != 1)
                return new NodeHealth(NodeHealthState.Stopped, "The node is not running.");
            if (host.Failure is { } failure)
                return new NodeHealth(NodeHealthState.Failed, failure.Message);
            var status = host.Status;
            if (status.LeaderId == 0)
                return new NodeHealth(NodeHealthState.NoLeader, "No leader is known: an election is running, or this node is cut off from the majority.");
            if (status.Applied < status.Commit)
                return new NodeHealth(NodeHealthState.CatchingUp, $"Applied index {status.Applied} of the known commit index {status.Commit}.");
            return NodeHealth.Healthy;
        }
    }

    /// <summary>The Raft index this node has applied to its databases.</summary>
    public ulong AppliedIndex => _host?.Status.Applied ?? 0;

    /// <summary>The members of the cluster as this node knows them.</summary>
    public IReadOnlyList<ClusterMember> Members
    {
        get
        {
            var status = Host.Status;
            return [.. status.Membership.Members.Select(m =>
                new ClusterMember(m.Id, m.Address, WireMapper.ToNodeRole(m.Role), m.Id == status.LeaderId))];
        }
    }

    /// <summary>The databases this node holds.</summary>
    public IReadOnlyList<string> Databases => Host.Engine.Databases;

    private RaftHost Host => _host ?? throw new InvalidOperationException("The node is not started.");

    /// <summary>For the in-process ADO.NET provider: the running node's request handling.</summary>
    internal NodeServices Services => _services ?? throw new InvalidOperationException("The node is not started.");

    /// <summary>For the in-process ADO.NET provider: a client session without a socket (its transactions and
    /// cursors end when it is disposed).</summary>
    internal ClientSession CreateSession() => new(Services);

    private RequestRouter Router => _router ?? throw new InvalidOperationException("The node is not started.");

    /// <summary>Opens the data directory, starts listening and joins the cluster.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
            throw new InvalidOperationException("A node can be started once.");
        cancellationToken.ThrowIfCancellationRequested();

        // The address first: a second process given a running node's address must stop before it opens (and
        // repairs) anything in a data directory that may be that node's.
        var transport = new TransportOptions { MaxMessageSize = _options.MaxMessageSize };
        _server = new TransportServer(ParseBindEndPoint(_options.BindAddress ?? _options.Address), _options.Id, transport, _loggerFactory);
        _server.Bind();

        var root = Path.GetFullPath(_options.DataDirectory);
        Directory.CreateDirectory(root);
        _directoryLock = DataDirectoryLock.Acquire(root);
        StagedSnapshot.Sweep(Path.Combine(root, "snapshots"));
        var raftDirectory = Path.Combine(root, "raft");
        var files = _options.Runtime.Files;
        var store = new RaftLogStore(
            SegmentedLog.Open(files, raftDirectory, logger: _loggerFactory.CreateLogger<SegmentedLog>()),
            new HardStateStore(raftDirectory, files));
        if (store.IsEmpty && _options.InitialCluster.Count > 0)
        {
            store.Bootstrap([.. _options.InitialCluster.Select(m => new Raft.Member(m.Id, WireMapper.ToMemberRole(m.Role), m.Address))]);
        }

        var network = new PeerNetwork(_options.Id, _options.Address, transport, _options.Faults, _loggerFactory);
        foreach (var member in _options.InitialCluster)
            network.Learn(member.Id, member.Address);

        _host = new RaftHost(_options, store, committer => new ReplicationEngine(new EngineOptions
        {
            DataDirectory = Path.Combine(root, "db"),
            Committer = committer,
            LoggerFactory = _loggerFactory,
        }), network, _loggerFactory.CreateLogger<RaftHost>());
        _databases = new LocalDatabases(_host.Engine, _options.Runtime);
        _host.LeadershipLost += _databases.InterruptWriters;
        _host.LeadershipLost += _databases.AbortTransactions;
        _host.InstallingSnapshot += _databases.CloseAll;
        _leaderLink = new LeaderLink(network, _options.RequestTimeout, _loggerFactory);
        _router = new RequestRouter(_host, _databases, _leaderLink, _options);
        var services = _services = new NodeServices(_options, _host, _databases, _router);

        _server.Register(ProtocolKind.Peer, _host.ServePeerAsync);
        var sessionLogger = _loggerFactory.CreateLogger<ClientSession>();
        _server.Register(ProtocolKind.Client, (connection, stopping) => ClientSession.ServeAsync(connection, services, sessionLogger, stopping));
        _server.Start();

        _stopping = new CancellationTokenSource();
        _maintenance = Task.Run(() => _host.RunMaintenanceAsync(_stopping.Token));
        return Task.CompletedTask;
    }

    /// <summary>
    /// Runs a writing statement on the leader (forwarded there when this node is not it) and waits
    /// until a majority has it. Parameters are named as in the SQL (<c>@name</c>, <c>:name</c>, <c>$name</c>).
    /// </summary>
    /// <exception cref="RaftSqlException">NoLeader, OutcomeUnknown, Timeout, SqlError, ...</exception>
    public async Task<ExecuteResult> ExecuteAsync(string database, string sql,
        IReadOnlyDictionary<string, object?>? parameters = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var result = await Router.ExecuteAsync(database, sql, ToWire(parameters), cancellationToken).ConfigureAwait(false);
        InterlockedMax(ref _lastWriteIndex, result.RaftIndex);
        return result;
    }

    /// <summary>
    /// Runs a query on this node's copy of the database. With <see cref="ReadConsistency.Session"/> (the
    /// default) the read sees every write made earlier through this <see cref="Node"/> object.
    /// </summary>
    public Task<QueryResult> QueryAsync(string database, string sql,
        IReadOnlyDictionary<string, object?>? parameters = null, ReadConsistency? consistency = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sql);
        return Router.QueryAsync(database, sql, ToWire(parameters), consistency ?? _options.DefaultReadConsistency,
            Volatile.Read(ref _lastWriteIndex), cancellationToken);
    }

    /// <summary>Writes this node's copy of <paramref name="database"/> to <paramref name="path"/> as one SQLite file
    /// (once a restarted node has replayed its log up to where it was).</summary>
    public async Task DumpAsync(string database, string path, CancellationToken cancellationToken = default)
    {
        RequestRouter.ValidateDatabaseName(database);
        var databases = _databases ?? throw new InvalidOperationException("The node is not started.");
        await Router.WaitForReplayAsync(cancellationToken).ConfigureAwait(false);
        await Task.Run(() => databases.DumpTo(database, path), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits until this node has applied <paramref name="index"/> (e.g. a write's <see cref="ExecuteResult.RaftIndex"/>).</summary>
    public Task WaitForAppliedAsync(ulong index, CancellationToken cancellationToken = default) =>
        Host.WaitForAppliedAsync(index, cancellationToken);

    /// <summary>Stops gracefully: a leader first hands leadership to the most up-to-date voter.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _state, 2) != 1)
            return;
        if (_options.HandOverLeadershipOnStop && _host is { Status.IsLeader: true } && _router is not null)
        {
            try
            {
                await Services.TransferLeadershipAsync(0, cancellationToken).ConfigureAwait(false);
            }
            catch (RaftSqlException ex)
            {
                NodeLog.HandOverFailed(_logger, ex);
            }
        }
        _stopping?.Cancel();
        if (_server is not null)
            await _server.DisposeAsync().ConfigureAwait(false);
        if (_maintenance is not null)
            await _maintenance.ConfigureAwait(false);
        if (_leaderLink is not null)
            await _leaderLink.DisposeAsync().ConfigureAwait(false);
        _databases?.Dispose();
        if (_host is not null)
            await _host.DisposeAsync().ConfigureAwait(false);
        _stopping?.Dispose();
        _directoryLock?.Dispose();
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private static List<Parameter> ToWire(IReadOnlyDictionary<string, object?>? parameters) =>
        parameters is null ? [] : [.. parameters.Select(p => SqlValues.ToWireParameter(p.Key, p.Value))];

    private static void InterlockedMax(ref ulong target, ulong value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
                return;
            current = seen;
        }
    }

    private static IPEndPoint ParseBindEndPoint(string address)
    {
        var parsed = NodeAddress.Parse(address);
        if (IPAddress.TryParse(parsed.Host, out var ip))
            return new IPEndPoint(ip, parsed.Port);
        var resolved = Dns.GetHostAddresses(parsed.Host);
        var chosen = resolved.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? resolved.First();
        return new IPEndPoint(chosen, parsed.Port);
    }
}
