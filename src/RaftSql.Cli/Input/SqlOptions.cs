using System.CommandLine;

namespace RaftSql.Cli.Input;

/// <summary>The options and the argument shared by `exec` and `query`.</summary>
internal static class SqlOptions
{
    public static Option<string> Database() => new("--db", "-d") { Description = "Database name, e.g. app.db", Required = true };

    public static Option<Dictionary<string, object?>> Parameters() => new("--param", "-p")
    {
        Description = "A named parameter name=value (repeatable); integers, numbers and null are typed, 'quoted' stays text",
        CustomParser = SqlParameters.Parse,
        Arity = ArgumentArity.ZeroOrMore,
    };

    public static Argument<string> Sql() => new("sql") { Description = "The SQL statement" };
}
