using RaftSql.Cli;
using RaftSql.Cli.Output;

return await RaftSqlCommand.InvokeAsync(args, CliConsole.System());
