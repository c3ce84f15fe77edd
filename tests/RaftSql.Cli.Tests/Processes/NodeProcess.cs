using System.Diagnostics;
using System.Text;

namespace RaftSql.Cli.Tests.Processes;

/// <summary>A `raftsql node` child process (the built RaftSql.Cli.dll run by dotnet) with its output captured.</summary>
internal sealed class NodeProcess : IDisposable
{
    private readonly StringBuilder _output = new();
    private readonly Process _process;

    private NodeProcess(Process process)
    {
        _process = process;
    }

    public static NodeProcess Start(params string[] nodeArguments) => StartWith([], nodeArguments);

    /// <summary>Starts the node through <paramref name="launcher"/> (for example <c>ip netns exec ns</c>), which must
    /// exec the node in its own process so that signals reach the node.</summary>
    public static NodeProcess StartWith(IReadOnlyList<string> launcher, params string[] nodeArguments)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var start = new ProcessStartInfo(launcher.Count > 0 ? launcher[0] : dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var word in launcher.Skip(1))
            start.ArgumentList.Add(word);
        if (launcher.Count > 0)
            start.ArgumentList.Add(dotnet);
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "RaftSql.Cli.dll"));
        start.ArgumentList.Add("node");
        foreach (var argument in nodeArguments)
            start.ArgumentList.Add(argument);
        var node = new NodeProcess(new Process { StartInfo = start });
        node._process.OutputDataReceived += (_, e) => node.Append(e.Data);
        node._process.ErrorDataReceived += (_, e) => node.Append(e.Data);
        node._process.Start();
        node._process.BeginOutputReadLine();
        node._process.BeginErrorReadLine();
        return node;
    }

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>SIGKILL: the node gets no chance to hand over or flush anything.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>SIGTERM: what a service manager sends to stop the node gracefully.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        if (kill.ExitCode != 0)
            throw new InvalidOperationException($"kill -TERM {_process.Id} failed with exit code {kill.ExitCode}.");
    }

    /// <summary>SIGSTOP: the node freezes (timers, sockets and all) until <see cref="Resume"/>.</summary>
    public void Pause() => Signal("STOP");

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    public void Resume() => Signal("CONT");

    private void Signal(string signal)
    {
        if (_process.HasExited)
            return;
        using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync().WaitAsync(timeout);

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }

    public void Dispose()
    {
        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }
        _process.Dispose();
    }
}
