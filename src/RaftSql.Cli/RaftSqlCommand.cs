using System.CommandLine;
using RaftSql.Cli.Bench;
using RaftSql.Cli.Commands;
using RaftSql.Cli.Output;

namespace RaftSql.Cli;

/// <summary>The `raftsql` command tree.</summary>
internal static class RaftSqlCommand
{
    public static RootCommand Create(CliConsole console) => new("raftsql: run and administer RaftSql nodes")
    {
        NodeCommand.Create(console),
        ExecCommand.Create(console),
        QueryCommand.Create(console),
        ClusterCommand.Create(console),
        DumpCommand.Create(console),
        BenchCommand.Create(console),
    };

    /// <summary>
    /// Response files are off: "@name=value" is a SQL parameter here, not a file to read arguments from.
    /// </summary>
    public static ParserConfiguration ParserConfiguration { get; } = new() { ResponseFileTokenReplacer = null };

    public static ParseResult Parse(CliConsole console, IReadOnlyList<string> args) => Create(console).Parse(args, ParserConfiguration);

    /// <summary>Parses and runs <paramref name="args"/>; Ctrl+C and SIGTERM cancel the running command.</summary>
    public static Task<int> InvokeAsync(string[] args, CliConsole console, CancellationToken cancellationToken = default) =>
        Parse(console, args).InvokeAsync(new InvocationConfiguration
        {
            // A stopping node hands leadership over and flushes; give it time before the process is torn down.
            ProcessTerminationTimeout = TimeSpan.FromSeconds(30),
            Output = console.Out.Profile.Out.Writer,
            Error = console.Error,
        }, cancellationToken);
}
