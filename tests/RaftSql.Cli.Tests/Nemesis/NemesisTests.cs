using System.Diagnostics;
using System.Globalization;
using RaftSql.Cli.Tests.Support;
using RaftSql.Data;
using SqlCommand = RaftSql.Data.RaftSqlCommand;
using RaftSql.Histories;
using Xunit.Abstractions;

namespace RaftSql.Cli.Tests.Nemesis;

/// <summary>
/// Three `raftsql node` processes under a seeded nemesis (SIGKILL and restart, SIGTERM and restart, SIGSTOP/SIGCONT,
/// network cuts between nodes in network namespaces, a node's link down) while register and bank clients work
/// through the ADO.NET provider at Linearizable, Lease and Session consistency. At the end, with every fault
/// healed: histories checked (linearizable registers, session guarantees, bank invariants, no acknowledged write
/// lost, no failed write applied), <c>PRAGMA integrity_check</c> on every node, every node's content identical.
/// RAFTSQL_NEMESIS_SECONDS sets how long faults run (default 40), RAFTSQL_NEMESIS_SEED replays a schedule,
/// RAFTSQL_NEMESIS_LOOPBACK=1 keeps the nodes on loopback (no partitions) even as root, and RAFTSQL_NEMESIS_CANARY=1
/// makes one register client read at Local consistency while its reads are checked as linearizable (the run should
/// then fail with stale reads: a check of the checkers).
/// </summary>
public sealed class NemesisTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private readonly ITestOutputHelper _output;
    private const string DataPrefix = "raftsql-nemesis-";
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"{DataPrefix}{Environment.ProcessId}-{Guid.NewGuid():N}");
    private NetworkLab? _lab;
    private NemesisCluster? _cluster;

    public NemesisTests(ITestOutputHelper output) => _output = output;

    private enum Fault
    {
        Kill,
        Restart,
        Pause,
        Cut,
        Isolate,
    }

    [Fact]
    [Trait("Category", "Nemesis")]
    public async Task Histories_stay_correct_and_nodes_identical_under_kills_pauses_and_partitions()
    {
        int seconds = int.TryParse(Environment.GetEnvironmentVariable("RAFTSQL_NEMESIS_SECONDS"), CultureInfo.InvariantCulture, out int s) ? s : 40;
        int seed = int.TryParse(Environment.GetEnvironmentVariable("RAFTSQL_NEMESIS_SEED"), CultureInfo.InvariantCulture, out int given)
            ? given : Random.Shared.Next(1, int.MaxValue);
        Log($"nemesis seed {seed} (replay with RAFTSQL_NEMESIS_SEED={seed}), {seconds} s of faults");

        string? whyNot = "RAFTSQL_NEMESIS_LOOPBACK is set";
        foreach (string stale in Directory.EnumerateDirectories(Path.GetTempPath(), DataPrefix + "*")
            .Where(d => NetworkLab.OwnerGone(Path.GetFileName(d), DataPrefix)))
        {
            Log($"removing stale data directory {stale}");
            DeleteQuietly(stale);
        }
        _lab = Environment.GetEnvironmentVariable("RAFTSQL_NEMESIS_LOOPBACK") is { Length: > 0 } ? null : NetworkLab.TryCreate(3, Log, out whyNot);
        Log(_lab is null ? $"PARTITIONS SKIPPED: {whyNot}; running kills, restarts and pauses on loopback only" : "nodes in network namespaces");
        _cluster = new NemesisCluster(3, _lab, _root);
        _cluster.StartAll();
        await Eventually.TrueAsync(async () => await _cluster.LeaderIndexAsync() is not null, Patience, "a first leader");

        var workloads = new Workloads(_cluster.Addresses, Log);
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await workloads.CreateSchemaAsync();
                return true;
            }
            catch (RaftSqlException ex) when (ex.Code is not RaftSqlErrorCode.SqlError)
            {
                return false;
            }
        }, Patience, "the schema");

        using var stopClients = new CancellationTokenSource();
        var random = new Random(seed);
        // The canary checks the checkers: one client reads at Local consistency and its reads are held to linearizability.
        bool canary = Environment.GetEnvironmentVariable("RAFTSQL_NEMESIS_CANARY") is { Length: > 0 };
        ReadConsistency[] registerLevels = [ReadConsistency.Linearizable, ReadConsistency.Lease, ReadConsistency.Session,
            canary ? ReadConsistency.Local : ReadConsistency.Linearizable];
        ReadConsistency[] bankLevels = [ReadConsistency.Linearizable, ReadConsistency.Lease, ReadConsistency.Session];
        var clients = new List<Task>();
        for (int c = 0; c < registerLevels.Length; c++)
        {
            int client = c, clientSeed = random.Next();
            clients.Add(Task.Run(() => workloads.RunRegisterClientAsync(client, registerLevels[client], clientSeed, stopClients.Token)));
        }
        for (int c = 0; c < bankLevels.Length; c++)
        {
            int client = c, clientSeed = random.Next();
            clients.Add(Task.Run(() => workloads.RunBankClientAsync(client, bankLevels[client], clientSeed, stopClients.Token)));
        }

        var faults = await RunNemesisAsync(_cluster, random, TimeSpan.FromSeconds(seconds));

        _cluster.HealAll();
        Log("healed: every node running and connected");
        await stopClients.CancelAsync();
        await Task.WhenAll(clients).WaitAsync(Patience);

        var (finalBank, reference) = await ReadFinalStateAsync(workloads);
        await Eventually.TrueAsync(async () => await AllNodesHoldAsync(workloads, reference), Patience, "every node to hold the same content");
        var integrity = await IntegrityChecksAsync(workloads);

        var registerOps = workloads.Register.Operations();
        Dictionary<int, ReadConsistency> levels;
        lock (workloads.SessionConsistency)
            levels = new(workloads.SessionConsistency);
        var strongOps = registerOps.Where(o => o.Call.Kind != RegisterOpKind.Read
            || levels.GetValueOrDefault(o.Process, ReadConsistency.Linearizable) is ReadConsistency.Linearizable or ReadConsistency.Lease or ReadConsistency.Local)
            .ToList();
        var okReads = registerOps.Where(o => o.IsOk && o.Call.Kind == RegisterOpKind.Read).ToList();
        string readsByLevel = string.Join(", ", okReads.GroupBy(o => levels.GetValueOrDefault(o.Process, ReadConsistency.Linearizable))
            .OrderBy(g => g.Key).Select(g => $"{g.Key.ToString().ToLowerInvariant()} {g.Count()}"));
        var checkTimer = Stopwatch.StartNew();
        var result = RegisterChecker.Check(strongOps)
            .Concat(SessionChecker.Check(registerOps))
            .Concat(BankChecker.Check(workloads.Bank.Operations(), Workloads.InitialBalances, finalBank))
            .Concat(new CheckResult(integrity));

        var bankOps = workloads.Bank.Operations();
        int ackedWrites = registerOps.Count(o => o.IsOk && o.Call.Kind != RegisterOpKind.Read)
            + bankOps.Count(o => o.IsOk && o.Call.Kind == BankOpKind.Transfer && o.Result!.Applied);
        int unknown = registerOps.Count(o => o.IsUnknown) + bankOps.Count(o => o.IsUnknown);
        int failed = registerOps.Count(o => o.Outcome == Outcome.Failed) + bankOps.Count(o => o.Outcome == Outcome.Failed);
        string faultText = string.Join(", ", faults.Select(f => $"{f.Key.ToString().ToLowerInvariant()} {f.Value}"));
        Log($"checked in {checkTimer.ElapsedMilliseconds} ms");
        Log($"NEMESIS{(canary ? " (CANARY: Local reads checked as linearizable)" : "")} seed={seed} seconds={seconds} network={(_lab is null ? "loopback (no partitions)" : "namespaces")} " +
            $"faults: {faultText} ops={registerOps.Count + bankOps.Count} (register {registerOps.Count}, bank {bankOps.Count}) " +
            $"acknowledged-writes={ackedWrites} failed={failed} unknown={unknown} transfers-applied={finalBank.AppliedTransferIds.Count} " +
            $"client-errors={workloads.UnexpectedErrors} anomalies={result.Anomalies.Count}");
        Log($"register reads acknowledged: {readsByLevel}; ops in the linearizability check {strongOps.Count} over {registerOps.Select(o => o.Call.Key).Distinct().Count()} keys; " +
            $"bank reads acknowledged {bankOps.Count(o => o.IsOk && o.Call.Kind == BankOpKind.Read)}");
        foreach (string anomaly in result.Anomalies.Take(50))
            Log("ANOMALY " + anomaly);
        if (!result.Ok)
            Log(_cluster.OutputTails());
        Assert.True(result.Ok, $"seed {seed}: {result}");
        Assert.True(ackedWrites > 0, $"seed {seed}: no write was acknowledged");
    }

    /// <summary>One fault at a time, each held for a while and then healed, until <paramref name="duration"/> is over.</summary>
    private async Task<SortedDictionary<Fault, int>> RunNemesisAsync(NemesisCluster cluster, Random random, TimeSpan duration)
    {
        var counts = new SortedDictionary<Fault, int>();
        Fault[] kinds = cluster.HasNetwork
            ? [Fault.Kill, Fault.Restart, Fault.Pause, Fault.Pause, Fault.Cut, Fault.Cut, Fault.Isolate]
            : [Fault.Kill, Fault.Restart, Fault.Pause, Fault.Pause];
        var clock = Stopwatch.StartNew();
        for (int step = 1; clock.Elapsed < duration; step++)
        {
            await Task.Delay(random.Next(500, 2500));
            Fault fault = kinds[random.Next(kinds.Length)];
            bool atLeader = random.Next(2) == 0;
            int target = random.Next(cluster.Size);
            int other = (target + 1 + random.Next(cluster.Size - 1)) % cluster.Size;
            bool bothPeers = random.Next(2) == 0;
            int holdMs = random.Next(1000, 6000);
            // Now and then a second node is paused or killed at the same time: the majority is gone for a while.
            Fault? second = random.Next(4) == 0 ? (random.Next(2) == 0 ? Fault.Pause : Fault.Kill) : null;
            if (atLeader && await cluster.LeaderIndexAsync() is { } leader)
                target = leader;
            if (other == target)
                other = (target + 1) % cluster.Size;
            string what = fault switch
            {
                Fault.Cut when bothPeers => $"cut node {target + 1} from its peers",
                Fault.Cut => $"cut nodes {target + 1} and {other + 1} apart",
                _ => $"{fault.ToString().ToLowerInvariant()} node {target + 1}",
            };
            if (atLeader)
                what += " (the leader)";
            if (second is { } extra)
                what += $", and {extra.ToString().ToLowerInvariant()} node {other + 1}";
            Log($"step {step} at {clock.Elapsed.TotalSeconds:0.0} s: {what} for {holdMs} ms");
            switch (fault)
            {
                case Fault.Kill:
                    cluster.Kill(target);
                    break;
                case Fault.Restart:
                    await cluster.TerminateAsync(target);
                    break;
                case Fault.Pause:
                    cluster.Pause(target);
                    break;
                case Fault.Cut:
                    for (int peer = 0; peer < cluster.Size; peer++)
                    {
                        if (peer != target && (bothPeers || peer == other))
                            cluster.Cut(target, peer);
                    }
                    break;
                case Fault.Isolate:
                    cluster.Isolate(target);
                    break;
            }
            counts[fault] = counts.GetValueOrDefault(fault) + 1;
            if (second == Fault.Pause)
                cluster.Pause(other);
            else if (second == Fault.Kill)
                cluster.Kill(other);
            if (second is { } both)
                counts[both] = counts.GetValueOrDefault(both) + 1;
            await Task.Delay(holdMs);
            cluster.HealAll();
        }
        return counts;
    }

    /// <summary>Reads every register (recorded, so a lost final write shows) and the bank at Linearizable consistency.</summary>
    private async Task<(BankFinalState Bank, string Content)> ReadFinalStateAsync(Workloads workloads)
    {
        long[] keys = [.. workloads.Register.Operations().Select(o => o.Call.Key).Distinct().Order()];
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await using var connection = new RaftSqlConnection(workloads.ConnectionString(ReadConsistency.Linearizable, 0));
                await connection.OpenAsync();
                var reads = keys.Select(k => workloads.Register.Invoke(-1, RegisterCall.Read(k))).ToList();
                var found = new Dictionary<long, (long Value, long Version)>();
                try
                {
                    await using var command = new SqlCommand("SELECT k, v, ver FROM reg", connection);
                    await using var reader = await command.ExecuteReaderAsync();
                    while (await reader.ReadAsync())
                        found[reader.GetInt64(0)] = (reader.GetInt64(1), reader.GetInt64(2));
                }
                catch (RaftSqlException)
                {
                    reads.ForEach(r => r.Fail());
                    return false;
                }
                foreach (var read in reads)
                {
                    read.Ok(found.TryGetValue(read.Call.Key, out var row)
                        ? new RegisterResult(row.Value, Version: row.Version)
                        : new RegisterResult(null, Version: 0));
                }
                return true;
            }
            catch (RaftSqlException)
            {
                return false;
            }
        }, Patience, "a final read of every register");

        BankFinalState? bank = null;
        string content = "";
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await using var connection = new RaftSqlConnection(workloads.ConnectionString(ReadConsistency.Linearizable, 0));
                await connection.OpenAsync();
                var balances = await Workloads.ReadBalancesAsync(connection);
                var applied = new HashSet<long>();
                await using (var command = new SqlCommand("SELECT id FROM transfers", connection))
                await using (var reader = await command.ExecuteReaderAsync())
                {
                    while (await reader.ReadAsync())
                        applied.Add(reader.GetInt64(0));
                }
                content = await ContentAsync(connection);
                bank = new BankFinalState(balances, applied);
                return true;
            }
            catch (RaftSqlException)
            {
                return false;
            }
        }, Patience, "the final bank state");
        return (bank!, content);
    }

    private static async Task<string> ContentAsync(RaftSqlConnection connection)
    {
        const string sql = "SELECT 'reg', k, v, ver FROM reg UNION ALL SELECT 'acct', id, bal, 0 FROM acct " +
            "UNION ALL SELECT 'transfer', id, src * 1000000 + dst, amount FROM transfers ORDER BY 1, 2";
        await using var command = new SqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var text = new System.Text.StringBuilder();
        while (await reader.ReadAsync())
            text.Append(CultureInfo.InvariantCulture, $"{reader.GetString(0)}:{reader.GetInt64(1)}:{reader.GetInt64(2)}:{reader.GetInt64(3)};");
        return text.ToString();
    }

    /// <summary>True when every node's own copy (a Local read there) holds <paramref name="reference"/>.</summary>
    private async Task<bool> AllNodesHoldAsync(Workloads workloads, string reference)
    {
        foreach (string address in _cluster!.Addresses)
        {
            try
            {
                await using var connection = new RaftSqlConnection(workloads.ConnectionString(ReadConsistency.Local, 0, [address]));
                await connection.OpenAsync();
                if (await ContentAsync(connection) != reference)
                    return false;
            }
            catch (RaftSqlException)
            {
                return false;
            }
        }
        return true;
    }

    private async Task<List<string>> IntegrityChecksAsync(Workloads workloads)
    {
        var problems = new List<string>();
        foreach (string address in _cluster!.Addresses)
        {
            string verdict = "";
            await Eventually.TrueAsync(async () =>
            {
                try
                {
                    await using var connection = new RaftSqlConnection(workloads.ConnectionString(ReadConsistency.Local, 0, [address]));
                    await connection.OpenAsync();
                    await using var command = new SqlCommand("PRAGMA integrity_check", connection);
                    verdict = Convert.ToString(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture) ?? "";
                    return true;
                }
                catch (RaftSqlException)
                {
                    return false;
                }
            }, Patience, $"integrity_check on {address}");
            if (verdict != "ok")
                problems.Add($"integrity_check on {address}: {verdict}");
        }
        return problems;
    }

    private void Log(string line)
    {
        try
        {
            _output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
        }
        catch (InvalidOperationException)
        {
            // The test already finished (a late client message).
        }
    }

    public void Dispose()
    {
        _cluster?.Dispose();
        _lab?.Dispose();
        DeleteQuietly(_root);
    }

    private static void DeleteQuietly(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Never created.
        }
        catch (IOException)
        {
            // Best effort.
        }
        catch (UnauthorizedAccessException)
        {
            // Best effort.
        }
    }
}
