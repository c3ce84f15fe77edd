using System.CommandLine;

namespace RaftSql.Cli.Input;

/// <summary>The options every command that talks to a running cluster takes.</summary>
internal sealed class ClientOptions
{
    public Option<string[]> Nodes { get; } = new("--nodes", "-n")
    {
        Description = "Addresses (host:port) of one or more nodes, comma separated",
        Required = true,
        Recursive = true,
        CustomParser = AddressList.Parse,
    };

    public Option<double> Timeout { get; } = new("--timeout")
    {
        Description = "Seconds one request may take, including waiting for a leader",
        DefaultValueFactory = _ => 15,
        Recursive = true,
    };

    public void AddTo(Command command)
    {
        command.Add(Nodes);
        command.Add(Timeout);
    }

    public ClusterClient CreateClient(ParseResult parse)
    {
        var seconds = parse.GetValue(Timeout);
        if (seconds <= 0)
            throw new ArgumentException("--timeout must be a positive number of seconds.");
        return new ClusterClient(parse.GetRequiredValue(Nodes), TimeSpan.FromSeconds(seconds));
    }
}
