using System.Globalization;

namespace RaftSql.Cli.Bench;

/// <summary>
/// The peak resident set size of this process over a phase, in MiB. The bench runs all three nodes in
/// this process, so this is the process figure: an upper bound of the largest node's peak RSS.
/// On Linux the kernel's high-water mark (VmHWM) is reset at the start (writing "5" to
/// /proc/self/clear_refs) and read at the end; where that is refused, VmRSS is sampled every 50 ms
/// and the largest sample is kept.
/// </summary>
internal sealed class PeakRss : IAsyncDisposable
{
    private static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(50);
    private readonly CancellationTokenSource? _stopSampling;
    private readonly Task<long>? _sampler;

    private PeakRss(bool highWaterMarkReset)
    {
        StartMib = CurrentBytes() / (1024.0 * 1024.0);
        if (highWaterMarkReset)
            return;
        _stopSampling = new CancellationTokenSource();
        _sampler = Task.Run(() => SampleAsync(_stopSampling.Token));
    }

    /// <summary>Starts watching: resets the kernel's high-water mark, or starts sampling.</summary>
    public static PeakRss Start() => new(TryResetHighWaterMark());

    /// <summary>The RSS when watching started, in MiB.</summary>
    public double StartMib { get; }

    /// <summary>The peak since <see cref="Start"/>, in MiB.</summary>
    public async Task<double> StopAsync()
    {
        long bytes;
        if (_sampler is null)
        {
            bytes = StatusKiB("VmHWM:") * 1024;
        }
        else
        {
            await _stopSampling!.CancelAsync().ConfigureAwait(false);
            bytes = Math.Max(await _sampler.ConfigureAwait(false), CurrentBytes());
        }
        return bytes / (1024.0 * 1024.0);
    }

    private static bool TryResetHighWaterMark()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return StatusKiB("VmHWM:") > 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    private static async Task<long> SampleAsync(CancellationToken stop)
    {
        var peak = CurrentBytes();
        using var timer = new PeriodicTimer(SampleInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
                peak = Math.Max(peak, CurrentBytes());
        }
        catch (OperationCanceledException)
        {
            // Stopped: the peak so far is the answer.
        }
        return peak;
    }

    private static long CurrentBytes()
    {
        var kib = StatusKiB("VmRSS:");
        return kib > 0 ? kib * 1024 : Environment.WorkingSet;
    }

    /// <summary>A "Name:   1234 kB" line of /proc/self/status, in KiB; 0 where there is none.</summary>
    private static long StatusKiB(string name)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
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
            // Not Linux, or no such line.
        }
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopSampling is not null)
        {
            await _stopSampling.CancelAsync().ConfigureAwait(false);
            if (_sampler is not null)
                await _sampler.ConfigureAwait(false);
            _stopSampling.Dispose();
        }
    }
}
