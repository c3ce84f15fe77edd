using System.CommandLine;
using RaftSql.Cli.Output;

namespace RaftSql.Cli.Tests.CommandLine;

/// <summary>The raftsql command tree over an in-memory console.</summary>
internal sealed class Cli
{
    private readonly StringWriter _out = new();
    private readonly StringWriter _error = new();

    public string Output => _out.ToString();

    public string Error => _error.ToString();

    public ParseResult Parse(params string[] args) => RaftSqlCommand.Parse(CliConsole.Plain(_out, _error), args);

    public Task<int> RunAsync(params string[] args) => RaftSqlCommand.InvokeAsync(args, CliConsole.Plain(_out, _error));
}
