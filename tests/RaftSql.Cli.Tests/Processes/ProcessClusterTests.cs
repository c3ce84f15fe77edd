using RaftSql.Cli.Tests.Support;

namespace RaftSql.Cli.Tests.Processes;

/// <summary>Three `raftsql node` processes; the leader is SIGKILLed while a client streams writes.</summary>
public sealed class ProcessClusterTests : IDisposable
{
    private const string Database = "stream.db";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "raftsql-proc-" + Guid.NewGuid().ToString("N"));
    private readonly Dictionary<ulong, NodeProcess> _processes = [];
    private readonly Dictionary<ulong, string> _addresses = [];

    [Fact]
    public async Task Every_acknowledged_row_survives_a_killed_leader_on_every_node()
    {
        var ports = RaftSql.Testing.TestPorts.Take(3);
        for (var i = 0; i < 3; i++)
            _addresses[(ulong)(i + 1)] = $"127.0.0.1:{ports[i]}";
        foreach (var id in _addresses.Keys)
            StartNode(id);

        await using var observer = new ClusterClient(_addresses.Values, TimeSpan.FromSeconds(10));
        var oldLeader = await WaitForLeaderAsync(observer, exceptId: null);
        await using var writerClient = new ClusterClient(_addresses.Values, TimeSpan.FromSeconds(10));
        await writerClient.ExecuteAsync(Database, "CREATE TABLE stream (id INTEGER PRIMARY KEY, written_at TEXT)");

        var acknowledged = new List<long>();
        using var stopWriting = new CancellationTokenSource();
        var writer = Task.Run(() => WriteStreamAsync(writerClient, acknowledged, stopWriting.Token));
        int Acked()
        {
            lock (acknowledged)
                return acknowledged.Count;
        }

        await Eventually.TrueAsync(() => Acked() >= 100 || writer.IsCompleted, Patience, "100 acknowledged rows");
        oldLeader = await WaitForLeaderAsync(observer, exceptId: null);
        _processes[oldLeader.Id].Kill();
        var ackedAtKill = Acked();

        await Eventually.TrueAsync(() => Acked() >= ackedAtKill + 100 || writer.IsCompleted, Patience, "100 rows acknowledged after the kill");
        var newLeader = await WaitForLeaderAsync(observer, exceptId: oldLeader.Id);
        Assert.NotEqual(oldLeader.Id, newLeader.Id);
        await stopWriting.CancelAsync();
        await writer;

        StartNode(oldLeader.Id);
        long[] expected;
        lock (acknowledged)
            expected = [.. acknowledged];
        foreach (var (id, address) in _addresses)
            await Eventually.TrueAsync(() => HoldsAllAsync(address, expected), Patience, $"node {id} to hold all {expected.Length} acknowledged rows");
    }

    [Fact]
    public async Task A_node_stops_gracefully_on_SIGTERM_and_restarts_from_its_data_directory()
    {
        _addresses[1] = $"127.0.0.1:{RaftSql.Testing.TestPorts.Take(1)[0]}";
        StartNode(1, withCluster: false);
        await using (var client = new ClusterClient([_addresses[1]], TimeSpan.FromSeconds(10)))
        {
            await WaitForLeaderAsync(client, exceptId: null);
            await client.ExecuteAsync(Database, "CREATE TABLE kept (x INTEGER)");
            await client.ExecuteAsync(Database, "INSERT INTO kept VALUES (7)");
        }

        _processes[1].Terminate();
        await _processes[1].WaitForExitAsync(Patience);
        Assert.Equal(0, _processes[1].ExitCode);
        Assert.Contains("Node 1 stopped", _processes[1].Output, StringComparison.Ordinal);

        StartNode(1, withCluster: false);
        await using var again = new ClusterClient([_addresses[1]], TimeSpan.FromSeconds(10));
        await WaitForLeaderAsync(again, exceptId: null);
        var kept = await again.QueryAsync(Database, "SELECT x FROM kept", consistency: ReadConsistency.Linearizable);
        Assert.Equal(7L, kept.Scalar);
    }

    [Fact]
    public async Task A_node_started_on_a_live_node_s_address_exits_with_AddressInUse()
    {
        _addresses[1] = $"127.0.0.1:{RaftSql.Testing.TestPorts.Take(1)[0]}";
        StartNode(1, withCluster: false);
        await using (var client = new ClusterClient([_addresses[1]], TimeSpan.FromSeconds(10)))
            await WaitForLeaderAsync(client, exceptId: null);

        var twinData = Path.Combine(_root, "twin");
        using var twin = NodeProcess.Start("--id", "2", "--address", _addresses[1], "--data", twinData);
        await twin.WaitForExitAsync(Patience);

        Assert.Equal(1, twin.ExitCode);
        Assert.Contains($"error: AddressInUse: ", twin.Output, StringComparison.Ordinal);
        Assert.Contains(_addresses[1], twin.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(twinData), "the twin created its data directory");
        Assert.False(_processes[1].HasExited);
    }

    /// <summary>Writes rows 1, 2, 3, ... and records those the cluster acknowledged; failed ones are left out.</summary>
    private static async Task WriteStreamAsync(ClusterClient client, List<long> acknowledged, CancellationToken stop)
    {
        for (long id = 1; !stop.IsCancellationRequested; id++)
        {
            try
            {
                await client.ExecuteAsync(Database, "INSERT INTO stream (id, written_at) VALUES (@id, datetime('now'))",
                    new Dictionary<string, object?> { ["@id"] = id });
                lock (acknowledged)
                    acknowledged.Add(id);
            }
            catch (RaftSqlException)
            {
                // No leader yet, or the leader died mid-write (outcome unknown): not acknowledged, move on.
            }
        }
    }

    private void StartNode(ulong id, bool withCluster = true)
    {
        _processes.Remove(id, out var previous);
        previous?.Dispose();
        List<string> arguments = ["--id", $"{id}", "--address", _addresses[id], "--data", Path.Combine(_root, $"node{id}")];
        if (withCluster)
            arguments.AddRange(["--cluster", string.Join(',', _addresses.Select(a => $"{a.Key}@{a.Value}"))]);
        _processes[id] = NodeProcess.Start([.. arguments]);
    }

    private static async Task<NodeInfo> WaitForLeaderAsync(ClusterClient client, ulong? exceptId)
    {
        NodeInfo? leader = null;
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                leader = await client.GetLeaderAsync();
            }
            catch (RaftSqlException)
            {
                leader = null; // nodes still starting
            }
            return leader is not null && leader.Id != exceptId;
        }, Patience, "a leader");
        return leader!;
    }

    /// <summary>True when the node at <paramref name="address"/> has every row in <paramref name="ids"/> in its own copy.</summary>
    private static async Task<bool> HoldsAllAsync(string address, long[] ids)
    {
        try
        {
            await using var client = new ClusterClient([address], TimeSpan.FromSeconds(5));
            var rows = await client.QueryAsync(Database, "SELECT id FROM stream", consistency: ReadConsistency.Local);
            var present = rows.Rows.Select(r => (long)r[0]).ToHashSet();
            return ids.All(present.Contains);
        }
        catch (RaftSqlException)
        {
            return false; // restarting, or has not received the database yet
        }
    }

    public void Dispose()
    {
        foreach (var process in _processes.Values)
            process.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
