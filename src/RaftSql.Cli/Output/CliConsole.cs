using Spectre.Console;

namespace RaftSql.Cli.Output;

/// <summary>Where a command writes: results to <see cref="Out"/>, errors to <see cref="Error"/>.</summary>
internal sealed record CliConsole(IAnsiConsole Out, TextWriter Error)
{
    public static CliConsole System() => new(AnsiConsole.Console, global::System.Console.Error);

    /// <summary>A plain console (no colours, no live widgets) writing into <paramref name="output"/>, for tests.</summary>
    public static CliConsole Plain(TextWriter output, TextWriter error) => new(
        AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        }),
        error);
}
