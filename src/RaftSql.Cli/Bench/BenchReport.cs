using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace RaftSql.Cli.Bench;

/// <summary>Prints the figures side by side and writes them as one JSON object.</summary>
internal static class BenchReport
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static void Print(IAnsiConsole console, BenchFigures f, BenchSettings settings)
    {
        var table = new Table()
            .Title($"RaftSql (3 nodes, loopback) vs plain SQLite (WAL, synchronous=FULL); {settings.PhaseDuration.TotalSeconds:0.#} s per phase")
            .AddColumns("metric", "RaftSql", "SQLite", "ratio");
        table.AddRow("write tx/s, 1 writer", N(f.WriteTps1), N(f.BaselineWriteTps1), Ratio(f.WriteTps1, f.BaselineWriteTps1));
        table.AddRow($"write tx/s, {BenchSettings.ManyWriters} writers", N(f.WriteTps32), N(f.BaselineWriteTps32), Ratio(f.WriteTps32, f.BaselineWriteTps32));
        table.AddRow("write latency p50 / p99 (ms, 1 writer)", $"{Ms(f.WriteP50Ms)} / {Ms(f.WriteP99Ms)}", "", "");
        table.AddRow("point reads/s (Local, follower)", N(f.ReadQps), N(f.BaselineReadQps), Ratio(f.ReadQps, f.BaselineReadQps));
        var readers = ConcurrentReads.Readers;
        table.AddRow($"point reads/s, {readers} connections (Local, follower)", N(f.ReadQps16), N(f.BaselineReadQps16), Ratio(f.ReadQps16, f.BaselineReadQps16));
        table.AddRow($"point reads/s, {readers} connections (Lease, leader) vs 1 SQLite reader", N(f.ReadQpsLease), N(f.BaselineReadQps), Ratio(f.ReadQpsLease, f.BaselineReadQps));
        table.AddRow($"point reads/s, {ConcurrentReads.LinearizableReaders} connections (Linearizable, follower) vs 1 SQLite reader", N(f.ReadQpsLinearizable), N(f.BaselineReadQps), Ratio(f.ReadQpsLinearizable, f.BaselineReadQps));
        table.AddRow($"point reads/s, {readers} connections (Local, leader) under {BenchSettings.ManyWriters} writers ({N(f.WriteTpsDuringLeaderReads)} tx/s)", N(f.ReadQpsLeaderUnderWrites), "", "");
        table.AddRow($"failover ms p50 / max ({settings.FailoverTrials} trials)", $"{Ms(f.FailoverMsP50)} / {Ms(f.FailoverMsMax)}", "", "");
        table.AddRow($"bulk MiB/s ({settings.BulkMib} MiB, one transaction)", f.BulkMibS > 0 ? Ms(f.BulkMibS) : "0 (see below)",
            Ms(f.BaselineBulkMibS), f.BulkMibS > 0 ? Ratio(f.BulkMibS, f.BaselineBulkMibS) : "-");
        // The bulk phase runs each node in a process of its own: the largest of their peaks (VmHWM).
        table.AddRow("peak RSS MiB during bulk (largest node)", Ms(f.PeakRssMb), "", "");
        console.Write(table);
        if (f.BulkNote.Length > 0)
            console.WriteLine(f.BulkNote);
    }

    public static async Task WriteJsonAsync(string path, BenchFigures figures)
    {
        await using var file = File.Create(path);
        await JsonSerializer.SerializeAsync(file, figures, Json).ConfigureAwait(false);
    }

    private static string N(double value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Ms(double value) => value.ToString("0.0", CultureInfo.InvariantCulture);

    private static string Ratio(double value, double baseline) =>
        baseline > 0 ? (value / baseline).ToString("0.00x", CultureInfo.InvariantCulture) : "-";
}
