using System.CommandLine;
using Microsoft.Extensions.Logging;
using RaftSql.Cli.Input;
using RaftSql.Cli.Output;

namespace RaftSql.Cli.Commands;

/// <summary>`raftsql node`: hosts one node in this process until SIGINT/SIGTERM, then stops it gracefully.</summary>
internal static class NodeCommand
{
    public static Command Create(CliConsole console)
    {
        var id = new Option<ulong>("--id") { Description = "This node's id (> 0, unique, never reused)", Required = true };
        var address = new Option<string>("--address") { Description = "host:port that peers and clients dial", Required = true };
        var data = new Option<string>("--data") { Description = "Data directory (created when missing)", Required = true };
        var bind = new Option<string?>("--bind") { Description = "host:port to listen on, when it differs from --address" };
        var cluster = new Option<NodeInfo[]>("--cluster")
        {
            Description = "Founding members id@host:port,... (the same on every founding node); ignored once the data directory holds state",
            CustomParser = ClusterSpec.Parse,
        };
        var join = new Option<string[]>("--join")
        {
            Description = "Join a running cluster through these addresses (host:port,...) instead of founding one",
            CustomParser = AddressList.Parse,
        };
        var role = new Option<NodeRole>("--role") { Description = "Role to join with", DefaultValueFactory = _ => NodeRole.Standby };
        var heartbeat = new Option<int>("--heartbeat-ms") { Description = "Raft heartbeat interval", DefaultValueFactory = _ => 100 };
        var election = new Option<int>("--election-timeout-ms") { Description = "Election timeout (randomized up to twice this)", DefaultValueFactory = _ => 600 };
        var commitTimeout = new Option<double>("--commit-timeout")
        {
            Description = "Seconds a write may wait for its commit before it fails with Timeout (or OutcomeUnknown)",
            DefaultValueFactory = _ => new NodeOptions().CommitTimeout.TotalSeconds,
        };
        var logLevel = new Option<LogLevel>("--log-level") { Description = "Least severe log level printed", DefaultValueFactory = _ => LogLevel.Information };

        var command = new Command("node", "Run a node until Ctrl+C or SIGTERM, then stop it gracefully (a leader hands over first)")
        {
            id, address, data, bind, cluster, join, role, heartbeat, election, commitTimeout, logLevel,
        };
        id.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<ulong>() == 0)
                result.AddError("--id must be at least 1.");
        });
        commitTimeout.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<double>() is not (> 0 and <= 86_400))
                result.AddError("--commit-timeout must be more than 0 and at most 86400 seconds.");
        });
        command.Validators.Add(result =>
        {
            if (result.GetResult(cluster) is not null && result.GetResult(join) is not null)
                result.AddError("--cluster and --join exclude each other: a node either founds the cluster or joins it.");
            if (result.GetValue(address) is { } a && !AddressList.IsHostPort(a))
                result.AddError($"--address '{a}' is not of the form host:port.");
            if (result.GetValue(bind) is { } b && !AddressList.IsHostPort(b))
                result.AddError($"--bind '{b}' is not of the form host:port.");
        });
        command.SetAction((parse, ct) => Guarded.RunAsync(console, () =>
        {
            var settings = new NodeSettings(
                parse.GetValue(id), parse.GetRequiredValue(address), parse.GetRequiredValue(data), parse.GetValue(bind),
                parse.GetValue(cluster) ?? [], parse.GetValue(join) ?? [], parse.GetValue(role),
                TimeSpan.FromMilliseconds(parse.GetValue(heartbeat)), TimeSpan.FromMilliseconds(parse.GetValue(election)),
                TimeSpan.FromSeconds(parse.GetValue(commitTimeout)), parse.GetValue(logLevel));
            return NodeRunner.RunAsync(settings, ct);
        }, ct));
        return command;
    }
}
