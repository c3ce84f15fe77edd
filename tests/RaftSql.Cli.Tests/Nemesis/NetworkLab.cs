using System.Diagnostics;
using System.Globalization;

namespace RaftSql.Cli.Tests.Nemesis;

/// <summary>
/// One network namespace per node, each joined by a veth pair to a bridge in a hub namespace; the test process
/// (root namespace) reaches the bridge through one more veth pair. Everything is named
/// <c>rsn{pid}...</c> after the test process, so a later run removes what a crashed one left behind.
/// Faults: a blackhole route between two nodes (both ways; the test process still reaches both), or a node's
/// link to the bridge down (cut from everyone). Needs root and iproute2; <see cref="TryCreate"/> says why not.
/// </summary>
internal sealed class NetworkLab : IDisposable
{
    private const string Prefix = "rsn";
    private readonly string _name;
    private readonly int _nodes;
    private readonly string _subnet;
    private bool _disposed;

    private NetworkLab(string name, int nodes, string subnet)
    {
        _name = name;
        _nodes = nodes;
        _subnet = subnet;
    }

    /// <summary>The address of node <paramref name="index"/> (0-based) inside its namespace.</summary>
    public string NodeIp(int index) => $"{_subnet}.{11 + index}";

    /// <summary>The launcher that runs a command inside node <paramref name="index"/>'s namespace.</summary>
    public string[] Launcher(int index) => ["ip", "netns", "exec", Namespace(index)];

    /// <summary>Creates the namespaces, or returns null with the reason they are unavailable.</summary>
    public static NetworkLab? TryCreate(int nodes, Action<string> log, out string? whyNot)
    {
        whyNot = null;
        if (!OperatingSystem.IsLinux())
        {
            whyNot = "not Linux";
            return null;
        }
        if (Environment.UserName != "root")
        {
            whyNot = $"not root (user {Environment.UserName}); network namespaces need CAP_NET_ADMIN";
            return null;
        }
        if (Run("ip", "-V").Code != 0)
        {
            whyNot = "`ip` (iproute2) is not available";
            return null;
        }
        RemoveStale(log);
        int pid = Environment.ProcessId;
        var lab = new NetworkLab($"{Prefix}{pid}", nodes, $"10.231.{16 + pid % 224}");
        try
        {
            lab.Build();
            return lab;
        }
        catch (InvalidOperationException ex)
        {
            lab.Dispose();
            whyNot = "could not build the namespaces: " + ex.Message;
            return null;
        }
    }

    /// <summary>Cuts nodes <paramref name="a"/> and <paramref name="b"/> apart, both ways.</summary>
    public void Cut(int a, int b)
    {
        Must("ip", "-n", Namespace(a), "route", "replace", "blackhole", NodeIp(b) + "/32");
        Must("ip", "-n", Namespace(b), "route", "replace", "blackhole", NodeIp(a) + "/32");
    }

    /// <summary>Takes node <paramref name="index"/>'s link to the bridge down: nobody reaches it.</summary>
    public void Isolate(int index) => Must("ip", "-n", HubNamespace, "link", "set", $"n{index}", "down");

    /// <summary>Removes every cut and brings every link up.</summary>
    public void Heal()
    {
        for (int i = 0; i < _nodes; i++)
        {
            Run("ip", "-n", Namespace(i), "route", "flush", "type", "blackhole");
            Must("ip", "-n", HubNamespace, "link", "set", $"n{i}", "up");
        }
    }

    private string Namespace(int index) => $"{_name}-{index}";

    private string HubNamespace => $"{_name}-hub";

    private string RootLink => $"{_name}r";

    private void Build()
    {
        Must("ip", "netns", "add", HubNamespace);
        Must("ip", "-n", HubNamespace, "link", "add", "br0", "type", "bridge");
        Must("ip", "-n", HubNamespace, "link", "set", "br0", "up");
        Must("ip", "-n", HubNamespace, "link", "set", "lo", "up");
        // The test process's side: a veth in the root namespace, its peer on the bridge.
        Must("ip", "link", "add", RootLink, "type", "veth", "peer", "name", "up0", "netns", HubNamespace);
        Must("ip", "addr", "add", $"{_subnet}.1/24", "dev", RootLink);
        Must("ip", "link", "set", RootLink, "up");
        Must("ip", "-n", HubNamespace, "link", "set", "up0", "master", "br0", "up");
        for (int i = 0; i < _nodes; i++)
        {
            string ns = Namespace(i);
            Must("ip", "netns", "add", ns);
            Must("ip", "-n", ns, "link", "set", "lo", "up");
            Must("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", $"n{i}", "netns", HubNamespace);
            Must("ip", "-n", ns, "addr", "add", $"{NodeIp(i)}/24", "dev", "eth0");
            Must("ip", "-n", ns, "link", "set", "eth0", "up");
            Must("ip", "-n", HubNamespace, "link", "set", $"n{i}", "master", "br0", "up");
        }
    }

    /// <summary>Removes namespaces and links left by runs whose process is gone.</summary>
    private static void RemoveStale(Action<string> log)
    {
        foreach (string line in Run("ip", "netns", "list").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string ns = line.Split(' ')[0];
            if (OwnerGone(ns))
            {
                // Nodes a crashed run left behind still run in its namespaces: end them first.
                foreach (string pid in Run("ip", "netns", "pids", ns).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    log($"killing process {pid} left in stale namespace {ns}");
                    Run("kill", "-KILL", pid);
                }
                log($"removing stale namespace {ns}");
                Run("ip", "netns", "del", ns);
            }
        }
        foreach (string line in Run("ip", "-o", "link", "show").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = line.Split(':', 3, StringSplitOptions.TrimEntries);
            string link = parts.Length > 1 ? parts[1].Split('@')[0] : "";
            if (OwnerGone(link))
            {
                log($"removing stale link {link}");
                Run("ip", "link", "del", link);
            }
        }
    }

    /// <summary>True for a name of ours (<paramref name="prefix"/> then the owner's process id) whose owner no longer runs.</summary>
    public static bool OwnerGone(string name, string prefix = Prefix)
    {
        if (!name.StartsWith(prefix, StringComparison.Ordinal))
            return false;
        string digits = new([.. name.Skip(prefix.Length).TakeWhile(char.IsAsciiDigit)]);
        return digits.Length > 0 && int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            && !Directory.Exists($"/proc/{pid}");
    }

    private static void Must(params string[] command)
    {
        var (code, output) = Run(command);
        if (code != 0)
            throw new InvalidOperationException($"`{string.Join(' ', command)}` failed ({code}): {output.Trim()}");
    }

    private static (int Code, string Output) Run(params string[] command)
    {
        var start = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in command.Skip(1))
            start.ArgumentList.Add(argument);
        try
        {
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            return (process.ExitCode, stdout.Result + stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, ex.Message);
        }
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        for (int i = 0; i < _nodes; i++)
            Run("ip", "netns", "del", Namespace(i));
        Run("ip", "netns", "del", HubNamespace);
        Run("ip", "link", "del", RootLink);
    }
}
