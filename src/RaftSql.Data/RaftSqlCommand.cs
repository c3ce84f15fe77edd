using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using RaftSql.Data.Channels;
using RaftSql.Data.Results;
using RaftSql.Data.Values;
using RaftSql.Protocol;

namespace RaftSql.Data;

/// <summary>
/// SQL text (one statement or several separated by <c>;</c>) to run on a <see cref="RaftSqlConnection"/>.
/// The node prepares the statements: read-only text runs on the node at the connection's read consistency,
/// anything that writes runs on the leader. Inside a transaction everything runs on the leader.
/// </summary>
public sealed class RaftSqlCommand : DbCommand
{
    private string _commandText = "";
    private int? _commandTimeout;
    private CancellationTokenSource? _running;

    /// <summary>Creates a command with no text and no connection.</summary>
    public RaftSqlCommand()
    {
    }

    /// <summary>Creates a command with <paramref name="commandText"/>, optionally on a connection and transaction.</summary>
    public RaftSqlCommand(string? commandText, RaftSqlConnection? connection = null, RaftSqlTransaction? transaction = null)
    {
        CommandText = commandText;
        Connection = connection;
        Transaction = transaction;
    }

    /// <summary>The SQL to run; parameters are written <c>@name</c>, <c>:name</c>, <c>$name</c> or <c>?</c>.</summary>
    [AllowNull]
    public override string CommandText
    {
        get => _commandText;
        set => _commandText = value ?? "";
    }

    /// <summary>Seconds the command may take (0: no limit); defaults to the connection's <c>Default Timeout</c>.</summary>
    public override int CommandTimeout
    {
        get => _commandTimeout ?? Connection?.DefaultTimeout ?? 30;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _commandTimeout = value;
        }
    }

    /// <summary>Only <see cref="CommandType.Text"/> is supported.</summary>
    /// <exception cref="ArgumentException">Any other command type.</exception>
    public override CommandType CommandType
    {
        get => CommandType.Text;
        set
        {
            if (value != CommandType.Text)
                throw new ArgumentException($"RaftSql runs SQL text only, not {value}.", nameof(value));
        }
    }

    /// <summary>The connection the command runs on.</summary>
    public new RaftSqlConnection? Connection { get; set; }

    /// <summary>The transaction the command runs in; when null, the connection's transaction in progress (if any).</summary>
    public new RaftSqlTransaction? Transaction { get; set; }

    /// <summary>The command's parameters.</summary>
    public new RaftSqlParameterCollection Parameters { get; } = new();

    /// <summary>Whether the command shows in designers.</summary>
    public override bool DesignTimeVisible { get; set; }

    /// <summary>How results update a DataRow (DbDataAdapter).</summary>
    public override UpdateRowSource UpdatedRowSource { get; set; }

    /// <inheritdoc />
    protected override DbConnection? DbConnection
    {
        get => Connection;
        set => Connection = value is null or RaftSqlConnection ? (RaftSqlConnection?)value
            : throw new InvalidCastException("A RaftSqlCommand needs a RaftSqlConnection.");
    }

    /// <inheritdoc />
    protected override DbParameterCollection DbParameterCollection => Parameters;

    /// <inheritdoc />
    protected override DbTransaction? DbTransaction
    {
        get => Transaction;
        set => Transaction = value is null or RaftSqlTransaction ? (RaftSqlTransaction?)value
            : throw new InvalidCastException("A RaftSqlCommand needs a RaftSqlTransaction.");
    }

    /// <summary>Stops waiting for the command running now (its write may still complete on the leader).</summary>
    public override void Cancel() => _running?.Cancel();

    /// <summary>Does nothing: the node prepares statements when they run.</summary>
    public override void Prepare()
    {
    }

    /// <summary>Creates a parameter for this command.</summary>
    public new RaftSqlParameter CreateParameter() => new();

    /// <inheritdoc />
    protected override DbParameter CreateDbParameter() => CreateParameter();

    /// <summary>Runs the command and returns a reader over its result sets.</summary>
    /// <exception cref="RaftSqlException">SqlError (with SQLite's code), NoLeader, OutcomeUnknown, Timeout, Unavailable, ...</exception>
    public new RaftSqlDataReader ExecuteReader() => ExecuteReader(CommandBehavior.Default);

    /// <inheritdoc cref="ExecuteReader()"/>
    public new RaftSqlDataReader ExecuteReader(CommandBehavior behavior) =>
        ExecuteReaderAsync(behavior, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc cref="ExecuteReader()"/>
    public new Task<RaftSqlDataReader> ExecuteReaderAsync(CancellationToken cancellationToken = default) =>
        ExecuteReaderAsync(CommandBehavior.Default, cancellationToken);

    /// <inheritdoc cref="ExecuteReader()"/>
    public new async Task<RaftSqlDataReader> ExecuteReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken = default)
    {
        RaftSqlConnection connection = Connection ?? throw new InvalidOperationException("The command has no Connection.");
        if (connection.State != ConnectionState.Open)
            throw new InvalidOperationException("The connection is not open.");
        if (string.IsNullOrWhiteSpace(_commandText))
            throw new InvalidOperationException("The CommandText is empty.");
        RaftSqlTransaction? transaction = Transaction ?? connection.Transaction;
        if (transaction is not null && transaction.Connection != connection)
            throw new InvalidOperationException("The command's transaction is finished or belongs to another connection.");

        TimeSpan timeout = RaftSqlConnection.Timeout(CommandTimeout);
        IClusterChannel channel = connection.Channel;
        QueryRequest query = BuildQuery(connection, transaction);
        if (transaction is null && channel.LocalReads is { } reads && reads.IsReadOnly(query.Database, query.Sql)
            && await reads.PrepareAsync(query.Database, connection.ReadConsistency, query.MinIndex, cancellationToken).ConfigureAwait(false) is { Here: true } permit)
        {
            // In-process node, read-only text, consistency satisfied: read the file directly.
            var local = await LocalResults.OpenAsync(reads, query, cancellationToken).ConfigureAwait(false);
            if (!permit.StillHolds)
            {
                // The lease ran out while it read: confirm with a ReadIndex round and read again.
                await local.DisposeAsync().ConfigureAwait(false);
                await reads.ConfirmLateLeaseReadAsync(query.Database, cancellationToken).ConfigureAwait(false);
                local = await LocalResults.OpenAsync(reads, query, cancellationToken).ConfigureAwait(false);
            }
            return new RaftSqlDataReader(connection, local, behavior);
        }

        using var running = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _running = running;
        try
        {
            ClientResponse answer = await channel.SendAsync(new ClientRequest { Query = query }, timeout, running.Token).ConfigureAwait(false);
            if (answer.ResponseCase != ClientResponse.ResponseOneofCase.RowPage)
                throw new RaftSqlException(RaftSqlErrorCode.ProtocolError, $"Expected a row page, got {answer.ResponseCase}.");
            var results = new PagedResults(channel, answer.RowPage, timeout, page => connection.ObserveWrite(page.RaftIndex));
            return new RaftSqlDataReader(connection, results, behavior);
        }
        finally
        {
            _running = null;
        }
    }

    /// <summary>Runs the command and returns the rows its writes changed (-1 when it only read, as in Microsoft.Data.Sqlite).</summary>
    /// <exception cref="RaftSqlException">As for <see cref="ExecuteReader()"/>.</exception>
    public override int ExecuteNonQuery() => ExecuteNonQueryAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc cref="ExecuteNonQuery"/>
    public override async Task<int> ExecuteNonQueryAsync(CancellationToken cancellationToken)
    {
        await using RaftSqlDataReader reader = await ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
        {
        }
        return reader.RecordsAffected;
    }

    /// <summary>Runs the command and returns the first column of the first row, or null when there is none.</summary>
    /// <exception cref="RaftSqlException">As for <see cref="ExecuteReader()"/>.</exception>
    public override object? ExecuteScalar() => ExecuteScalarAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc cref="ExecuteScalar"/>
    public override async Task<object?> ExecuteScalarAsync(CancellationToken cancellationToken)
    {
        await using RaftSqlDataReader reader = await ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? reader.GetValue(0) : null;
    }

    /// <inheritdoc />
    protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior) => ExecuteReader(behavior);

    /// <inheritdoc />
    protected override async Task<DbDataReader> ExecuteDbDataReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken) =>
        await ExecuteReaderAsync(behavior, cancellationToken).ConfigureAwait(false);

    private QueryRequest BuildQuery(RaftSqlConnection connection, RaftSqlTransaction? transaction)
    {
        var query = new QueryRequest
        {
            Database = connection.Database,
            Sql = _commandText,
            Consistency = ToWire(connection.ReadConsistency),
            MinIndex = connection.LastWriteIndex,
            TransactionId = transaction?.Id ?? 0,
            AllowWrite = true,
        };
        // Index loops: a foreach over the interface would allocate an enumerator on every read.
        IReadOnlyList<RaftSqlParameter> items = Parameters.Items;
        for (int i = 0; i < items.Count; i++)
        {
            if (items[i].ParameterName.Length == 0)
            {
                query.Sql = ParameterNames.NumberAnonymous(_commandText);
                break;
            }
        }
        HashSet<string>? namesInSql = null;
        for (int i = 0; i < items.Count; i++)
        {
            RaftSqlParameter parameter = items[i];
            string name = parameter.ParameterName;
            if (name.Length > 0 && name[0] is not ('@' or ':' or '$' or '?'))
                name = ParameterNames.Resolve(name, namesInSql ??= ParameterNames.Scan(_commandText));
            query.Parameters.Add(new Parameter
            {
                Name = name,
                Value = Gateway.ValueBinder.ToWire(parameter.Value, parameter.DbType, parameter.Size),
            });
        }
        return query;
    }

    private static Protocol.ReadConsistency ToWire(RaftSql.ReadConsistency consistency) => consistency switch
    {
        RaftSql.ReadConsistency.Local => Protocol.ReadConsistency.Local,
        RaftSql.ReadConsistency.Lease => Protocol.ReadConsistency.Lease,
        RaftSql.ReadConsistency.Linearizable => Protocol.ReadConsistency.Linearizable,
        _ => Protocol.ReadConsistency.Session,
    };
}
