using System.CommandLine;
using RaftSql.Cli.Output;
using Spectre.Console;

namespace RaftSql.Cli.Bench;

/// <summary>`raftsql bench`: the measured (never asserted) comparison with plain SQLite.</summary>
internal static class BenchCommand
{
    public static Command Create(CliConsole console)
    {
        var seconds = new Option<double>("--seconds") { Description = "Seconds per write/read phase (11 phases)", DefaultValueFactory = _ => 3 };
        var trials = new Option<int>("--failover-trials") { Description = "How many times the leader is stopped", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup-writes") { Description = "Unmeasured writes per system before measuring (lets the WAL wrap)", DefaultValueFactory = _ => 1500 };
        var directory = new Option<string>("--dir") { Description = "Where the data goes (cluster and baseline on the same disk)", DefaultValueFactory = _ => Path.GetTempPath() };
        var json = new Option<string?>("--json") { Description = "Also write the figures as one JSON object to this file" };
        var bulk = new Option<int>("--bulk-mib") { Description = "MiB inserted by the bulk phase's one transaction", DefaultValueFactory = _ => BenchSettings.DefaultBulkMib };
        var command = new Command("bench", "Measure a three-node in-process cluster against plain SQLite on the same disk")
        {
            seconds, trials, warmup, directory, json, bulk,
        };
        seconds.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<double>() <= 0)
                result.AddError("--seconds must be positive.");
        });
        warmup.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 0)
                result.AddError("--warmup-writes must not be negative.");
        });
        bulk.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() <= 0)
                result.AddError("--bulk-mib must be positive.");
        });
        trials.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 0)
                result.AddError("--failover-trials must not be negative.");
        });
        command.SetAction((parse, ct) => Guarded.RunAsync(console, async () =>
        {
            var settings = new BenchSettings(TimeSpan.FromSeconds(parse.GetValue(seconds)), parse.GetValue(trials), parse.GetValue(warmup),
                parse.GetRequiredValue(directory), parse.GetValue(json), parse.GetValue(bulk));
            var figures = await BenchRunner.RunAsync(settings, console.Out).ConfigureAwait(false);
            BenchReport.Print(console.Out, figures, settings);
            if (settings.JsonPath is { } path)
            {
                await BenchReport.WriteJsonAsync(path, figures).ConfigureAwait(false);
                console.Out.WriteLine($"wrote {Path.GetFullPath(path)}");
            }
            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
