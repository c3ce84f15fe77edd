using System.Diagnostics;
using RaftSql.Data;
using SqlCommand = RaftSql.Data.RaftSqlCommand;
using RaftSql.Histories;

namespace RaftSql.Cli.Tests.Nemesis;

/// <summary>
/// Register and bank clients working through <see cref="RaftSqlConnection"/>, each recording every operation in a
/// history. A client keeps one connection (one session) for as long as it works; it starts a new session, under a
/// new process number, only when the connection itself breaks.
/// </summary>
internal sealed class Workloads
{
    public const string Database = "nemesis.db";
    /// <summary>Registers in use at a time; every <see cref="KeyLifetime"/> the clients move on to fresh keys, which keeps
    /// each key's history short enough for the linearizability search (as Jepsen's independent keys do).</summary>
    public const int Registers = 4;
    public static readonly TimeSpan KeyLifetime = TimeSpan.FromSeconds(10);
    public const int Accounts = 5;
    public const long InitialBalance = 100;

    private readonly IReadOnlyList<string> _addresses;
    private readonly Action<string> _log;
    private long _nextValue;
    private long _nextTransfer;
    private int _nextSession;
    private readonly Stopwatch _age = Stopwatch.StartNew();

    public Workloads(IReadOnlyList<string> addresses, Action<string> log)
    {
        _addresses = addresses;
        _log = log;
    }

    public History<RegisterCall, RegisterResult> Register { get; } = new(Stopwatch.GetTimestamp);

    public History<BankCall, BankResult> Bank { get; } = new(Stopwatch.GetTimestamp);

    /// <summary>The read consistency of each session (process number).</summary>
    public Dictionary<int, ReadConsistency> SessionConsistency { get; } = [];

    public int UnexpectedErrors;

    public static IReadOnlyDictionary<int, long> InitialBalances =>
        Enumerable.Range(0, Accounts).ToDictionary(a => a, _ => InitialBalance);

    /// <summary>Errors after which the operation certainly did not take effect; any other error leaves it unknown.</summary>
    public static bool CertainlyFailed(RaftSqlErrorCode code) =>
        code is RaftSqlErrorCode.NoLeader or RaftSqlErrorCode.NotLeader or RaftSqlErrorCode.SqlError or RaftSqlErrorCode.UnknownDatabase;

    public string ConnectionString(ReadConsistency consistency, int rotate, IReadOnlyList<string>? only = null)
    {
        var nodes = only ?? [.. _addresses.Skip(rotate % _addresses.Count).Concat(_addresses.Take(rotate % _addresses.Count))];
        return new RaftSqlConnectionStringBuilder
        {
            Nodes = string.Join(',', nodes),
            Database = Database,
            ReadConsistency = consistency,
            DefaultTimeout = 5,
            ConnectTimeout = 2,
            Pooling = false,
        }.ConnectionString;
    }

    public async Task CreateSchemaAsync()
    {
        await using var connection = new RaftSqlConnection(ConnectionString(ReadConsistency.Linearizable, 0));
        await connection.OpenAsync();
        string accounts = string.Join(',', Enumerable.Range(0, Accounts).Select(a => $"({a}, {InitialBalance})"));
        foreach (string sql in new[]
        {
            "CREATE TABLE reg (k INTEGER PRIMARY KEY, v INTEGER NOT NULL, ver INTEGER NOT NULL)",
            "CREATE TABLE acct (id INTEGER PRIMARY KEY, bal INTEGER NOT NULL)",
            $"INSERT INTO acct VALUES {accounts}",
            "CREATE TABLE transfers (id INTEGER PRIMARY KEY, src INTEGER NOT NULL, dst INTEGER NOT NULL, amount INTEGER NOT NULL)",
        })
        {
            await using var command = new SqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync();
        }
    }

    /// <summary>Runs register operations until <paramref name="stop"/>; the operation in flight finishes first.</summary>
    public Task RunRegisterClientAsync(int client, ReadConsistency consistency, int seed, CancellationToken stop)
    {
        var random = new Random(seed);
        var lastSeen = new Dictionary<long, long?>();
        return RunSessionsAsync($"register client {client}", client, consistency, stop, async (connection, session) =>
        {
            long key = _age.Elapsed.Ticks / KeyLifetime.Ticks * Registers + random.Next(Registers);
            int dice = random.Next(10);
            RegisterCall call = dice < 5 ? RegisterCall.Read(key)
                : dice < 8 ? RegisterCall.Write(key, Interlocked.Increment(ref _nextValue))
                : RegisterCall.Cas(key, lastSeen.GetValueOrDefault(key), Interlocked.Increment(ref _nextValue));
            var invocation = Register.Invoke(session, call);
            try
            {
                RegisterResult result = await ExecuteRegisterAsync(connection, call);
                invocation.Ok(result);
                if (call.Kind == RegisterOpKind.Read)
                    lastSeen[key] = result.Value;
            }
            catch (RaftSqlException ex)
            {
                if (CertainlyFailed(ex.Code))
                    invocation.Fail();
                else
                    invocation.Unknown();
                await Task.Delay(20, CancellationToken.None);
            }
            catch
            {
                invocation.Unknown();
                throw;
            }
        });
    }

    /// <summary>
    /// Runs <paramref name="operation"/> over and over on one session until <paramref name="stop"/>; an error
    /// the client did not expect (the connection broke under it) is counted and starts a new session.
    /// </summary>
    private async Task RunSessionsAsync(string who, int client, ReadConsistency consistency, CancellationToken stop,
        Func<RaftSqlConnection, int, Task> operation)
    {
        while (!stop.IsCancellationRequested)
        {
            var (connection, session) = await OpenSessionAsync(consistency, client, stop);
            if (connection is null)
                return;
            await using (connection)
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        await operation(connection, session);
                    }
                    catch (Exception ex) when (ex is InvalidOperationException or IOException or ObjectDisposedException)
                    {
                        Interlocked.Increment(ref UnexpectedErrors);
                        _log($"{who}: {ex.GetType().Name}: {ex.Message}; new session");
                        break;
                    }
                }
            }
        }
    }

    private static async Task<RegisterResult> ExecuteRegisterAsync(RaftSqlConnection connection, RegisterCall call)
    {
        await using var command = connection.CreateCommand();
        command.Parameters.Add(new RaftSqlParameter("@k", call.Key));
        switch (call.Kind)
        {
            case RegisterOpKind.Read:
                command.CommandText = "SELECT v, ver FROM reg WHERE k = @k";
                await using (var reader = await command.ExecuteReaderAsync())
                {
                    if (!await reader.ReadAsync())
                        return new RegisterResult(null, Version: 0);
                    return new RegisterResult(reader.GetInt64(0), Version: reader.GetInt64(1));
                }
            case RegisterOpKind.Write:
                command.CommandText = "INSERT INTO reg (k, v, ver) VALUES (@k, @v, 1) ON CONFLICT (k) DO UPDATE SET v = excluded.v, ver = reg.ver + 1 RETURNING ver";
                command.Parameters.Add(new RaftSqlParameter("@v", call.Value));
                return new RegisterResult(Version: AsLong(await command.ExecuteScalarAsync()));
            default:
                command.CommandText = call.Expected is null
                    ? "INSERT INTO reg (k, v, ver) VALUES (@k, @v, 1) ON CONFLICT (k) DO NOTHING RETURNING ver"
                    : "UPDATE reg SET v = @v, ver = ver + 1 WHERE k = @k AND v = @e RETURNING ver";
                command.Parameters.Add(new RaftSqlParameter("@v", call.Value));
                if (call.Expected is not null)
                    command.Parameters.Add(new RaftSqlParameter("@e", call.Expected));
                long? version = AsLong(await command.ExecuteScalarAsync());
                return new RegisterResult(Succeeded: version is not null, Version: version);
        }
    }

    /// <summary>Runs transfers (interactive transactions) and whole-bank reads until <paramref name="stop"/>.</summary>
    public Task RunBankClientAsync(int client, ReadConsistency consistency, int seed, CancellationToken stop)
    {
        var random = new Random(seed);
        return RunSessionsAsync($"bank client {client}", client, consistency, stop, async (connection, session) =>
        {
            if (random.Next(3) == 0)
            {
                await ReadBankAsync(connection, session);
                return;
            }
            int from = random.Next(Accounts);
            int to = (from + 1 + random.Next(Accounts - 1)) % Accounts;
            await TransferAsync(connection, session, BankCall.Transfer(Interlocked.Increment(ref _nextTransfer), from, to, random.Next(1, 30)));
        });
    }

    private async Task ReadBankAsync(RaftSqlConnection connection, int session)
    {
        var invocation = Bank.Invoke(session, BankCall.Read());
        try
        {
            invocation.Ok(new BankResult(await ReadBalancesAsync(connection)));
        }
        catch (RaftSqlException)
        {
            invocation.Fail(); // a read that failed constrains nothing
            await Task.Delay(20, CancellationToken.None);
        }
        catch
        {
            invocation.Unknown();
            throw;
        }
    }

    public static async Task<Dictionary<int, long>> ReadBalancesAsync(RaftSqlConnection connection)
    {
        await using var command = new SqlCommand("SELECT id, bal FROM acct ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var balances = new Dictionary<int, long>();
        while (await reader.ReadAsync())
            balances[(int)reader.GetInt64(0)] = reader.GetInt64(1);
        return balances;
    }

    private async Task TransferAsync(RaftSqlConnection connection, int session, BankCall call)
    {
        var invocation = Bank.Invoke(session, call);
        bool commitSent = false;
        RaftSqlTransaction? transaction = null;
        try
        {
            transaction = (RaftSqlTransaction)await connection.BeginTransactionAsync();
            long balance = AsLong(await Scalar(connection, transaction, "SELECT bal FROM acct WHERE id = @a", ("@a", call.From))) ?? 0;
            if (balance < call.Amount)
            {
                await transaction.RollbackAsync();
                invocation.Ok(new BankResult(Applied: false));
                return;
            }
            await Scalar(connection, transaction, "UPDATE acct SET bal = bal - @n WHERE id = @a", ("@n", call.Amount), ("@a", call.From));
            await Scalar(connection, transaction, "UPDATE acct SET bal = bal + @n WHERE id = @a", ("@n", call.Amount), ("@a", call.To));
            await Scalar(connection, transaction, "INSERT INTO transfers VALUES (@id, @a, @b, @n)",
                ("@id", call.TransferId), ("@a", call.From), ("@b", call.To), ("@n", call.Amount));
            commitSent = true;
            await transaction.CommitAsync();
            invocation.Ok(new BankResult());
        }
        catch (RaftSqlException ex)
        {
            // Before the commit was sent nothing can commit: the leader rolls the transaction back.
            if (!commitSent || CertainlyFailed(ex.Code))
                invocation.Fail();
            else
                invocation.Unknown();
            await Task.Delay(20, CancellationToken.None);
        }
        catch
        {
            if (commitSent)
                invocation.Unknown();
            else
                invocation.Fail();
            throw;
        }
        finally
        {
            if (transaction is not null)
            {
                try
                {
                    await transaction.DisposeAsync();
                }
                catch (RaftSqlException)
                {
                    // The rollback of an abandoned transaction failed: the leader rolls it back itself.
                }
            }
        }
    }

    private static async Task<object?> Scalar(RaftSqlConnection connection, RaftSqlTransaction transaction, string sql,
        params (string Name, object? Value)[] parameters)
    {
        await using var command = new SqlCommand(sql, connection, transaction);
        foreach (var (name, value) in parameters)
            command.Parameters.Add(new RaftSqlParameter(name, value));
        return await command.ExecuteScalarAsync();
    }

    /// <summary>Opens a connection for a new session, retrying while the cluster is unreachable; null once stopped.</summary>
    private async Task<(RaftSqlConnection? Connection, int Session)> OpenSessionAsync(ReadConsistency consistency, int client, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var connection = new RaftSqlConnection(ConnectionString(consistency, client));
            try
            {
                await connection.OpenAsync(CancellationToken.None);
                int session = Interlocked.Increment(ref _nextSession);
                lock (SessionConsistency)
                    SessionConsistency[session] = consistency;
                return (connection, session);
            }
            catch (RaftSqlException)
            {
                await connection.DisposeAsync();
                await Task.Delay(200, CancellationToken.None);
            }
        }
        return (null, 0);
    }

    private static long? AsLong(object? value) => value switch
    {
        null or DBNull => null,
        long l => l,
        _ => Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture),
    };
}
