using System.CommandLine;
using RaftSql.Cli.Input;
using RaftSql.Cli.Output;
using Spectre.Console;

namespace RaftSql.Cli.Commands;

/// <summary>`raftsql cluster list|leader|add|assign|remove|transfer`: membership administration.</summary>
internal static class ClusterCommand
{
    public static Command Create(CliConsole console)
    {
        var client = new ClientOptions();
        var command = new Command("cluster", "Show and change the cluster's membership");
        client.AddTo(command);
        command.Add(List(console, client));
        command.Add(Leader(console, client));
        command.Add(Add(console, client));
        command.Add(Assign(console, client));
        command.Add(Remove(console, client));
        command.Add(Transfer(console, client));
        return command;
    }

    private static Command List(CliConsole console, ClientOptions client)
    {
        var command = new Command("list", "List the members: id, address, role, leader");
        OnCluster(command, console, client, async (cluster, _, ct) =>
        {
            var members = await cluster.GetClusterAsync(ct).ConfigureAwait(false);
            var table = new Table().AddColumns("id", "address", "role", "leader");
            foreach (var m in members.OrderBy(m => m.Id))
                table.AddRow(m.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(m.Address), m.Role.ToString(), m.IsLeader ? "*" : "");
            console.Out.Write(table);
        });
        return command;
    }

    private static Command Leader(CliConsole console, ClientOptions client)
    {
        var command = new Command("leader", "Print the leader's id and address");
        OnCluster(command, console, client, async (cluster, _, ct) =>
        {
            var leader = await cluster.GetLeaderAsync(ct).ConfigureAwait(false)
                ?? throw new RaftSqlException(RaftSqlErrorCode.NoLeader, "The cluster has no leader right now.");
            console.Out.WriteLine($"{leader.Id} {leader.Address}");
        });
        return command;
    }

    private static Command Add(CliConsole console, ClientOptions client)
    {
        var id = IdArgument("Id of the node to add (started with --join or with no --cluster)");
        var address = new Argument<string>("address") { Description = "host:port of the node to add" };
        address.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is { } a && !AddressList.IsHostPort(a))
                r.AddError($"'{a}' is not of the form host:port.");
        });
        var role = new Option<NodeRole>("--role") { Description = "Role to add it with", DefaultValueFactory = _ => NodeRole.Standby };
        var command = new Command("add", "Add a node (as standby it catches up, then is promoted to voter)") { id, address, role };
        OnCluster(command, console, client, async (cluster, parse, ct) =>
        {
            await cluster.AddAsync(parse.GetValue(id), parse.GetRequiredValue(address), parse.GetValue(role), ct).ConfigureAwait(false);
            console.Out.WriteLine($"added node {parse.GetValue(id)} as {parse.GetValue(role)}");
        });
        return command;
    }

    private static Command Assign(CliConsole console, ClientOptions client)
    {
        var id = IdArgument("Id of the member");
        var role = new Argument<NodeRole>("role") { Description = "voter, standby or spare" };
        var command = new Command("assign", "Change a member's role") { id, role };
        OnCluster(command, console, client, async (cluster, parse, ct) =>
        {
            await cluster.AssignAsync(parse.GetValue(id), parse.GetValue(role), ct).ConfigureAwait(false);
            console.Out.WriteLine($"node {parse.GetValue(id)} is now {parse.GetValue(role)}");
        });
        return command;
    }

    private static Command Remove(CliConsole console, ClientOptions client)
    {
        var id = IdArgument("Id of the member to remove");
        var command = new Command("remove", "Remove a member") { id };
        OnCluster(command, console, client, async (cluster, parse, ct) =>
        {
            await cluster.RemoveAsync(parse.GetValue(id), ct).ConfigureAwait(false);
            console.Out.WriteLine($"removed node {parse.GetValue(id)}");
        });
        return command;
    }

    private static Command Transfer(CliConsole console, ClientOptions client)
    {
        var id = IdArgument("Id of the voter that should lead");
        var command = new Command("transfer", "Hand leadership to another voter and wait until it leads") { id };
        OnCluster(command, console, client, async (cluster, parse, ct) =>
        {
            await cluster.TransferLeadershipAsync(parse.GetValue(id), ct).ConfigureAwait(false);
            console.Out.WriteLine($"node {parse.GetValue(id)} leads");
        });
        return command;
    }

    private static Argument<ulong> IdArgument(string description)
    {
        var id = new Argument<ulong>("id") { Description = description };
        id.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<ulong>() == 0)
                r.AddError("Node ids start at 1.");
        });
        return id;
    }

    private static void OnCluster(Command command, CliConsole console, ClientOptions client,
        Func<ClusterClient, ParseResult, CancellationToken, Task> body) =>
        command.SetAction((parse, ct) => Guarded.RunAsync(console, async () =>
        {
            await using var cluster = client.CreateClient(parse);
            await body(cluster, parse, ct).ConfigureAwait(false);
            return ExitCodes.Success;
        }, ct));
}
