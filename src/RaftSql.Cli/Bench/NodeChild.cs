using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace RaftSql.Cli.Bench;

/// <summary>
/// One `raftsql node` child process, run by the same executable as this bench, its standard output and
/// error copied to files next to its data directory.
/// </summary>
internal sealed class NodeChild : IAsyncDisposable
{
    private const int TailLines = 20;
    private static readonly TimeSpan PumpTimeout = TimeSpan.FromSeconds(5);
    private readonly Process _process;
    private readonly string _errorPath;
    private readonly Task _pumps;

    private NodeChild(NodeInfo member, Process process, string errorPath, Task pumps)
    {
        Member = member;
        _process = process;
        _errorPath = errorPath;
        _pumps = pumps;
    }

    public NodeInfo Member { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>Starts node <paramref name="member"/> of the founding <paramref name="cluster"/> with its data in
    /// <paramref name="directory"/>/node{id} and its output in node{id}.out and node{id}.err there.</summary>
    public static NodeChild Start(NodeInfo member, IReadOnlyList<NodeInfo> cluster, string directory)
    {
        var id = member.Id.ToString(CultureInfo.InvariantCulture);
        var start = NodeCommandLine();
        start.ArgumentList.Add("node");
        foreach (var argument in new[]
        {
            "--id", id, "--address", member.Address, "--data", Path.Combine(directory, "node" + id),
            "--cluster", string.Join(',', cluster.Select(m => $"{m.Id.ToString(CultureInfo.InvariantCulture)}@{m.Address}")),
        })
        {
            start.ArgumentList.Add(argument);
        }
        start.UseShellExecute = false;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;

        var errorPath = Path.Combine(directory, $"node{id}.err");
        var output = OpenLog(Path.Combine(directory, $"node{id}.out"));
        var error = OpenLog(errorPath);
        var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch
        {
            output.Dispose();
            error.Dispose();
            process.Dispose();
            throw;
        }
        var pumps = Task.WhenAll(PumpAsync(process.StandardOutput.BaseStream, output), PumpAsync(process.StandardError.BaseStream, error));
        return new NodeChild(member, process, errorPath, pumps);
    }

    public ProcessMemory Memory() => _process.HasExited ? default : ProcessMemory.Of(_process);

    /// <summary>Why the node is not there: its exit code and the last lines of its standard error.</summary>
    public string Describe()
    {
        var state = _process.HasExited
            ? $"node {Member.Id} exited with code {_process.ExitCode.ToString(CultureInfo.InvariantCulture)}"
            : $"node {Member.Id} is running";
        return $"{state}; last lines of {_errorPath}:{Environment.NewLine}{ErrorTail()}";
    }

    /// <summary>SIGTERM (a graceful stop: a leader hands over first), then a kill once <paramref name="grace"/> is over.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (!_process.HasExited && TryTerminate())
        {
            try
            {
                await _process.WaitForExitAsync().WaitAsync(grace).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Killed below.
            }
        }
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
        try
        {
            await _pumps.WaitAsync(PumpTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Output still held open by something else; the log files are closed by the pumps when it ends.
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
        }
        finally
        {
            _process.Dispose();
        }
    }

    /// <summary>
    /// This executable: the raftsql apphost as is; when run by the dotnet host (dotnet RaftSql.Cli.dll,
    /// or a test host that loaded the CLI), dotnet with the CLI's assembly.
    /// </summary>
    private static ProcessStartInfo NodeCommandLine()
    {
        var cli = typeof(NodeChild).Assembly;
        var self = Environment.ProcessPath;
        if (self is not null && !IsDotnetHost(self) && Assembly.GetEntryAssembly() == cli)
            return new ProcessStartInfo(self);
        var host = self is not null && IsDotnetHost(self) ? self : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var start = new ProcessStartInfo(host);
        start.ArgumentList.Add(cli.Location);
        return start;
    }

    private static bool IsDotnetHost(string path) =>
        Path.GetFileNameWithoutExtension(path).Equals("dotnet", StringComparison.OrdinalIgnoreCase);

    private bool TryTerminate()
    {
        if (OperatingSystem.IsWindows())
            return false;
        try
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
            return kill.ExitCode == 0;
        }
        catch (Win32Exception)
        {
            return false; // no kill(1): killed instead
        }
    }

    /// <summary>Unbuffered, so the tail can be read while the node runs; readable by others meanwhile.</summary>
    private static FileStream OpenLog(string path) => new(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);

    private static async Task PumpAsync(Stream from, FileStream to)
    {
        await using (to.ConfigureAwait(false))
        {
            try
            {
                await from.CopyToAsync(to).ConfigureAwait(false);
            }
            catch (IOException)
            {
                // The pipe broke: the process is gone.
            }
        }
    }

    private string ErrorTail()
    {
        try
        {
            using var file = new FileStream(_errorPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(file);
            var lines = new Queue<string>();
            while (reader.ReadLine() is { } line)
            {
                lines.Enqueue(line);
                if (lines.Count > TailLines)
                    lines.Dequeue();
            }
            return lines.Count == 0 ? "(empty)" : string.Join(Environment.NewLine, lines);
        }
        catch (IOException ex)
        {
            return $"(unreadable: {ex.Message})";
        }
    }
}
