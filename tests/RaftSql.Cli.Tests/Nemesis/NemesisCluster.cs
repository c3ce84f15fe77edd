using RaftSql.Cli.Tests.Processes;
using RaftSql.Cli.Tests.Support;

namespace RaftSql.Cli.Tests.Nemesis;

/// <summary>
/// Three (or more) `raftsql node` processes, each in its own network namespace when a <see cref="NetworkLab"/> is
/// given (else on loopback), with the faults the nemesis injects: SIGKILL, SIGTERM, SIGSTOP/SIGCONT and network cuts.
/// </summary>
internal sealed class NemesisCluster : IDisposable
{
    private const int LabPort = 7400;
    private readonly NetworkLab? _lab;
    private readonly string _root;
    private readonly NodeProcess?[] _processes;
    private readonly bool[] _paused;

    public NemesisCluster(int size, NetworkLab? lab, string root)
    {
        _lab = lab;
        _root = root;
        _processes = new NodeProcess?[size];
        _paused = new bool[size];
        int[] ports = lab is null ? RaftSql.Testing.TestPorts.Take(size) : [.. Enumerable.Repeat(LabPort, size)];
        Addresses = [.. Enumerable.Range(0, size).Select(i => $"{(lab is null ? "127.0.0.1" : lab.NodeIp(i))}:{ports[i]}")];
    }

    public IReadOnlyList<string> Addresses { get; }

    public int Size => _processes.Length;

    public bool HasNetwork => _lab is not null;

    public void StartAll()
    {
        for (int i = 0; i < Size; i++)
            Start(i);
    }

    /// <summary>Starts node <paramref name="index"/> (again) on its data directory.</summary>
    public void Start(int index)
    {
        _processes[index]?.Dispose();
        string cluster = string.Join(',', Addresses.Select((a, i) => $"{i + 1}@{a}"));
        string[] arguments = ["--id", $"{index + 1}", "--address", Addresses[index], "--data", Path.Combine(_root, $"node{index + 1}"),
            "--cluster", cluster, "--log-level", "Warning"];
        _processes[index] = NodeProcess.StartWith(_lab?.Launcher(index) ?? [], arguments);
        _paused[index] = false;
    }

    public void Kill(int index) => _processes[index]?.Kill();

    /// <summary>SIGTERM, then waits for the graceful exit (SIGKILL if it takes over a minute).</summary>
    public async Task TerminateAsync(int index)
    {
        if (_processes[index] is not { HasExited: false } process)
            return;
        process.Terminate();
        try
        {
            await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            process.Kill();
        }
    }

    public bool IsRunning(int index) => _processes[index] is { HasExited: false };

    public void Pause(int index)
    {
        _processes[index]?.Pause();
        _paused[index] = true;
    }

    public void Resume(int index)
    {
        _processes[index]?.Resume();
        _paused[index] = false;
    }

    public void Cut(int a, int b) => (_lab ?? throw new InvalidOperationException("No network namespaces.")).Cut(a, b);

    public void Isolate(int index) => (_lab ?? throw new InvalidOperationException("No network namespaces.")).Isolate(index);

    /// <summary>Resumes paused nodes, restarts dead ones and heals the network.</summary>
    public void HealAll()
    {
        _lab?.Heal();
        for (int i = 0; i < Size; i++)
        {
            if (_paused[i])
                Resume(i);
            if (!IsRunning(i))
                Start(i);
        }
    }

    /// <summary>The index of the node the cluster reports as leader, or null when none answers in time.</summary>
    public async Task<int?> LeaderIndexAsync()
    {
        try
        {
            await using var client = new ClusterClient(Addresses, TimeSpan.FromSeconds(2));
            NodeInfo? leader = await client.GetLeaderAsync().WaitAsync(TimeSpan.FromSeconds(5));
            return leader is null ? null : (int)leader.Id - 1;
        }
        catch (Exception ex) when (ex is RaftSqlException or TimeoutException)
        {
            return null;
        }
    }

    /// <summary>The last lines each node printed (for a failure message).</summary>
    public string OutputTails(int lines = 15) => string.Join('\n', _processes.Select((p, i) =>
        $"--- node {i + 1} ---\n" + string.Join('\n', (p?.Output ?? "").Split('\n').TakeLast(lines))));

    public void Dispose()
    {
        for (int i = 0; i < Size; i++)
        {
            if (_paused[i])
                _processes[i]?.Resume();
            _processes[i]?.Dispose();
            _processes[i] = null;
        }
    }
}
