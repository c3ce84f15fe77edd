using System.Diagnostics;
using System.Globalization;

namespace RaftSql.Cli.Bench;

/// <summary>
/// A process's resident set size now and its peak since the process started, in MiB. On Linux these are
/// VmRSS and VmHWM (the kernel's high-water mark) of /proc/&lt;pid&gt;/status; elsewhere .NET's working set
/// figures. Zero when the process has exited.
/// </summary>
internal readonly record struct ProcessMemory(double RssMib, double PeakMib)
{
    private const double KiBPerMib = 1024;

    public static ProcessMemory Of(Process process)
    {
        if (OperatingSystem.IsLinux())
        {
            var status = $"/proc/{process.Id.ToString(CultureInfo.InvariantCulture)}/status";
            return new ProcessMemory(StatusKiB(status, "VmRSS:") / KiBPerMib, StatusKiB(status, "VmHWM:") / KiBPerMib);
        }
        try
        {
            process.Refresh();
            return new ProcessMemory(process.WorkingSet64 / (KiBPerMib * 1024), process.PeakWorkingSet64 / (KiBPerMib * 1024));
        }
        catch (Exception ex) when (ex is InvalidOperationException or NotSupportedException or PlatformNotSupportedException)
        {
            return default;
        }
    }

    /// <summary>A "Name:   1234 kB" line of a /proc status file, in KiB; 0 where there is none.</summary>
    private static long StatusKiB(string path, string name)
    {
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                if (line.StartsWith(name, StringComparison.Ordinal))
                {
                    var value = line[name.Length..].Trim();
                    var space = value.IndexOf(' ', StringComparison.Ordinal);
                    return long.Parse(space < 0 ? value : value[..space], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            // The process is gone (its /proc entry with it).
        }
        return 0;
    }
}
