using System.CommandLine;
using RaftSql.Cli.Input;
using RaftSql.Cli.Output;

namespace RaftSql.Cli.Commands;

/// <summary>`raftsql query`: runs a query and prints its rows as a table or CSV.</summary>
internal static class QueryCommand
{
    public static Command Create(CliConsole console)
    {
        var client = new ClientOptions();
        var database = SqlOptions.Database();
        var parameters = SqlOptions.Parameters();
        var consistency = new Option<ReadConsistency>("--consistency", "-c")
        {
            Description = "local: the first reachable node's copy as it is; linearizable: confirmed with a quorum",
            DefaultValueFactory = _ => ReadConsistency.Linearizable,
        };
        var format = new Option<ResultFormat>("--format", "-f") { Description = "Output format", DefaultValueFactory = _ => ResultFormat.Table };
        var sql = SqlOptions.Sql();
        var command = new Command("query", "Run a query and print its rows") { database, parameters, consistency, format, sql };
        client.AddTo(command);
        command.SetAction((parse, ct) => Guarded.RunAsync(console, async () =>
        {
            await using var cluster = client.CreateClient(parse);
            var result = await cluster.QueryAsync(parse.GetRequiredValue(database), parse.GetRequiredValue(sql),
                parse.GetValue(parameters), parse.GetValue(consistency), ct).ConfigureAwait(false);
            ResultWriter.Write(console, result, parse.GetValue(format));
            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
