using System.CommandLine;
using RaftSql.Cli.Input;
using RaftSql.Cli.Output;
using Spectre.Console;

namespace RaftSql.Cli.Commands;

/// <summary>`raftsql exec`: runs one writing statement on the leader.</summary>
internal static class ExecCommand
{
    public static Command Create(CliConsole console)
    {
        var client = new ClientOptions();
        var database = SqlOptions.Database();
        var parameters = SqlOptions.Parameters();
        var sql = SqlOptions.Sql();
        var command = new Command("exec", "Run a writing statement (CREATE, INSERT, UPDATE, ...) on the leader") { database, parameters, sql };
        client.AddTo(command);
        command.SetAction((parse, ct) => Guarded.RunAsync(console, async () =>
        {
            await using var cluster = client.CreateClient(parse);
            var result = await cluster.ExecuteAsync(parse.GetRequiredValue(database), parse.GetRequiredValue(sql),
                parse.GetValue(parameters), ct).ConfigureAwait(false);
            console.Out.WriteLine($"rows affected: {result.RowsAffected}, last insert rowid: {result.LastInsertRowId}, raft index: {result.RaftIndex}");
            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
