using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using RaftSql.Data.Channels;
using RaftSql.Protocol;

namespace RaftSql.Data;

/// <summary>
/// A connection to a RaftSql database: either to a cluster over TCP (<c>Nodes=host:port,...;Database=app.db</c>,
/// nodes tried in order, unreachable ones skipped) or to a node hosted in this process
/// (<see cref="NodeExtensions.CreateConnection"/>). Reads run on the node reached at the connection's
/// <see cref="ReadConsistency"/>; writes run on the leader. Failures are thrown as <see cref="RaftSqlException"/>
/// (the node's own exception type) whose <see cref="RaftSqlException.Code"/> says what happened.
/// </summary>
public sealed class RaftSqlConnection : DbConnection
{
    private readonly Func<RaftSqlConnectionStringBuilder, IClusterChannel>? _bound;
    private readonly string? _boundDescription;
    private RaftSqlConnectionStringBuilder _settings = new();
    private IClusterChannel? _channel;
    private ConnectionState _state = ConnectionState.Closed;
    private string _database = "";
    private ulong _lastWriteIndex;

    /// <summary>Creates a closed connection with no connection string.</summary>
    public RaftSqlConnection()
    {
    }

    /// <summary>Creates a closed connection for <paramref name="connectionString"/>.</summary>
    /// <exception cref="ArgumentException">The connection string has an unknown keyword or a malformed value.</exception>
    public RaftSqlConnection(string? connectionString) => ConnectionString = connectionString;

    /// <summary>A connection whose channel comes from <paramref name="bound"/> (an in-process node).</summary>
    internal RaftSqlConnection(string connectionString, string description, Func<RaftSqlConnectionStringBuilder, IClusterChannel> bound)
    {
        ConnectionString = connectionString;
        _bound = bound;
        _boundDescription = description;
    }

    /// <summary>The connection string; it can change only while the connection is closed.</summary>
    /// <exception cref="InvalidOperationException">The connection is open.</exception>
    [AllowNull]
    public override string ConnectionString
    {
        get => _settings.ConnectionString;
        set
        {
            if (_state != ConnectionState.Closed)
                throw new InvalidOperationException("The connection string cannot change while the connection is open.");
            _settings = new RaftSqlConnectionStringBuilder(value);
            _database = _settings.Database;
        }
    }

    /// <summary>The database this connection uses.</summary>
    public override string Database => _database;

    /// <summary>The nodes of the connection string, or the in-process node this connection is bound to.</summary>
    public override string DataSource => _boundDescription ?? _settings.Nodes;

    /// <summary>The version of the RaftSql node library this provider was built with.</summary>
    public override string ServerVersion => typeof(Node).Assembly.GetName().Version?.ToString() ?? "";

    /// <summary>Seconds a connect to one node may take (the <c>Connect Timeout</c> keyword).</summary>
    public override int ConnectionTimeout => _settings.ConnectTimeout;

    /// <summary>The default command timeout in seconds (the <c>Default Timeout</c> keyword; 0: no limit).</summary>
    public int DefaultTimeout => _settings.DefaultTimeout;

    /// <summary>How fresh reads on this connection are (the <c>Read Consistency</c> keyword).</summary>
    public ReadConsistency ReadConsistency => _settings.ReadConsistency;

    /// <summary>Whether the connection is open.</summary>
    public override ConnectionState State => _state;

    /// <summary>The transaction in progress on this connection, if any.</summary>
    internal RaftSqlTransaction? Transaction { get; set; }

    /// <summary>The Raft index of this connection's latest write; Session reads wait until it is applied.</summary>
    internal ulong LastWriteIndex => Volatile.Read(ref _lastWriteIndex);

    internal IClusterChannel Channel => _channel ?? throw new InvalidOperationException("The connection is not open.");

    /// <inheritdoc />
    protected override DbProviderFactory DbProviderFactory => RaftSqlFactory.Instance;

    /// <summary>Closes the idle TCP connections kept for reuse by every pooled connection.</summary>
    public static void ClearAllPools() => ConnectionPool.ClearAsync().GetAwaiter().GetResult();

    /// <summary>Connects to the first reachable node and makes sure the database exists (creating it if needed).</summary>
    /// <exception cref="RaftSqlException">No node could be reached (Unavailable), or the cluster refused (NoLeader, ...).</exception>
    public override void Open() => OpenAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc cref="Open"/>
    public override async Task OpenAsync(CancellationToken cancellationToken)
    {
        if (_state == ConnectionState.Open)
            throw new InvalidOperationException("The connection is already open.");
        if (string.IsNullOrWhiteSpace(_database))
            throw new InvalidOperationException("The connection string names no Database.");
        IClusterChannel channel = _bound is not null ? _bound(_settings)
            : _settings.NodeList.Count > 0
                ? new RemoteChannel(_settings.NodeList, TimeSpan.FromSeconds(_settings.ConnectTimeout), _settings.Pooling)
                : throw new InvalidOperationException("The connection string lists no Nodes (Nodes=host:port,...).");
        _state = ConnectionState.Connecting;
        try
        {
            await OpenDatabaseAsync(channel, _database, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _state = ConnectionState.Closed;
            await channel.AbandonAsync().ConfigureAwait(false);
            throw;
        }
        _channel = channel;
        _state = ConnectionState.Open;
        OnStateChange(new StateChangeEventArgs(ConnectionState.Closed, ConnectionState.Open));
    }

    /// <summary>Rolls back a transaction still in progress and closes the connection (keeping its TCP
    /// connection for reuse when pooling).</summary>
    public override void Close() => CloseAsync().GetAwaiter().GetResult();

    /// <inheritdoc cref="Close"/>
    public override async Task CloseAsync()
    {
        if (_channel is not { } channel)
            return;
        bool clean = true;
        if (Transaction is { } transaction)
            clean = await transaction.TryRollBackAsync().ConfigureAwait(false);
        _channel = null;
        _state = ConnectionState.Closed;
        if (clean)
            await channel.DisposeAsync().ConfigureAwait(false);
        else
            await channel.AbandonAsync().ConfigureAwait(false);
        OnStateChange(new StateChangeEventArgs(ConnectionState.Open, ConnectionState.Closed));
    }

    /// <summary>Switches to <paramref name="databaseName"/>, creating it in the cluster if needed.</summary>
    public override void ChangeDatabase(string databaseName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databaseName);
        if (_channel is { } channel)
            OpenDatabaseAsync(channel, databaseName, CancellationToken.None).GetAwaiter().GetResult();
        _database = databaseName;
    }

    /// <summary>Starts an interactive transaction on the leader; commands in it run there and see its writes.</summary>
    public new RaftSqlTransaction BeginTransaction() => (RaftSqlTransaction)BeginDbTransaction(IsolationLevel.Unspecified);

    /// <inheritdoc cref="BeginTransaction()"/>
    public new RaftSqlTransaction BeginTransaction(IsolationLevel isolationLevel) => (RaftSqlTransaction)BeginDbTransaction(isolationLevel);

    /// <summary>Creates a command on this connection.</summary>
    public new RaftSqlCommand CreateCommand() => new() { Connection = this };

    /// <inheritdoc />
    protected override DbCommand CreateDbCommand() => CreateCommand();

    /// <summary>Starts an interactive transaction (SQLite transactions are serializable whatever level is asked).</summary>
    /// <exception cref="InvalidOperationException">Closed connection, or a transaction is already in progress.</exception>
    /// <exception cref="RaftSqlException">NoLeader when no leader can be found within the default timeout.</exception>
    protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel) =>
        BeginDbTransactionAsync(isolationLevel, CancellationToken.None).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc cref="BeginDbTransaction"/>
    protected override async ValueTask<DbTransaction> BeginDbTransactionAsync(IsolationLevel isolationLevel, CancellationToken cancellationToken)
    {
        IClusterChannel channel = Channel;
        if (Transaction is not null)
            throw new InvalidOperationException("A transaction is already in progress; RaftSql does not nest transactions.");
        TimeSpan timeout = Timeout(_settings.DefaultTimeout);
        DateTime deadline = DateTime.UtcNow + (timeout == System.Threading.Timeout.InfiniteTimeSpan ? TimeSpan.FromDays(1) : timeout);
        while (true)
        {
            await channel.MoveToLeaderAsync(timeout, cancellationToken).ConfigureAwait(false);
            try
            {
                ClientResponse started = await channel.SendAsync(
                    new ClientRequest { Begin = new BeginRequest { Database = _database } }, timeout, cancellationToken).ConfigureAwait(false);
                Transaction = new RaftSqlTransaction(this, started.TransactionStarted.TransactionId, isolationLevel);
                return Transaction;
            }
            catch (RaftSqlException ex) when (ex.Code == RaftSqlErrorCode.NotLeader && DateTime.UtcNow < deadline)
            {
                // Leadership moved between finding the leader and beginning: find it again.
            }
        }
    }

    /// <summary>Remembers the Raft index of a write so later Session reads see it.</summary>
    internal void ObserveWrite(ulong raftIndex)
    {
        ulong current = Volatile.Read(ref _lastWriteIndex);
        while (raftIndex > current)
        {
            ulong seen = Interlocked.CompareExchange(ref _lastWriteIndex, raftIndex, current);
            if (seen == current)
                return;
            current = seen;
        }
    }

    internal static TimeSpan Timeout(int seconds) =>
        seconds == 0 ? System.Threading.Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(seconds);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
            Close();
        base.Dispose(disposing);
    }

    /// <summary>Closes the connection.</summary>
    public override async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private async Task OpenDatabaseAsync(IClusterChannel channel, string database, CancellationToken cancellationToken) =>
        await channel.SendAsync(new ClientRequest { OpenDatabase = new OpenDatabaseRequest { Database = database } },
            Timeout(_settings.DefaultTimeout), cancellationToken).ConfigureAwait(false);
}
