using System.CommandLine;
using RaftSql.Cli.Input;
using RaftSql.Cli.Output;
using Spectre.Console;

namespace RaftSql.Cli.Commands;

/// <summary>`raftsql dump`: copies one node's database as one checkpointed SQLite file.</summary>
internal static class DumpCommand
{
    public static Command Create(CliConsole console)
    {
        var client = new ClientOptions();
        client.Nodes.Description = "Address (host:port) of the one node whose copy is dumped";
        var database = SqlOptions.Database();
        var output = new Option<string>("--out", "-o") { Description = "File to write (replaced when it exists)", Required = true };
        var command = new Command("dump", "Write a node's copy of a database to one SQLite file (comparable byte for byte across nodes)")
        {
            database, output,
        };
        client.AddTo(command);
        command.Validators.Add(result =>
        {
            if (result.GetValue(client.Nodes) is { Length: > 1 })
                result.AddError("dump reads one node's copy: give exactly one address in --nodes.");
        });
        command.SetAction((parse, ct) => Guarded.RunAsync(console, async () =>
        {
            var node = parse.GetRequiredValue(client.Nodes)[0];
            var path = Path.GetFullPath(parse.GetRequiredValue(output));
            await using var cluster = client.CreateClient(parse);
            await cluster.DumpAsync(node, parse.GetRequiredValue(database), path, ct).ConfigureAwait(false);
            console.Out.WriteLine($"wrote {new FileInfo(path).Length} bytes to {path}");
            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
