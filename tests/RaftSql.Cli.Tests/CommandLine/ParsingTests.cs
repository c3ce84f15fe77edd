namespace RaftSql.Cli.Tests.CommandLine;

public sealed class ParsingTests
{
    private readonly Cli _cli = new();

    [Fact]
    public void Node_reads_its_founding_cluster()
    {
        var parse = _cli.Parse("node", "--id", "2", "--address", "127.0.0.1:9002", "--data", "d2",
            "--cluster", "1@127.0.0.1:9001,2@127.0.0.1:9002,3@127.0.0.1:9003");

        Assert.Empty(parse.Errors);
        Assert.Equal(2UL, parse.GetValue<ulong>("--id"));
        Assert.Equal(
            [new NodeInfo(1, "127.0.0.1:9001"), new NodeInfo(2, "127.0.0.1:9002"), new NodeInfo(3, "127.0.0.1:9003")],
            parse.GetRequiredValue<NodeInfo[]>("--cluster"));
    }

    [Theory]
    [InlineData("1@nohost")]
    [InlineData("0@127.0.0.1:9001")]
    [InlineData("x@127.0.0.1:9001")]
    [InlineData("127.0.0.1:9001")]
    [InlineData("1@127.0.0.1:9001,1@127.0.0.1:9002")]
    [InlineData("1@127.0.0.1:70000")]
    public void Node_refuses_a_malformed_cluster(string cluster)
    {
        var parse = _cli.Parse("node", "--id", "1", "--address", "127.0.0.1:9001", "--data", "d", "--cluster", cluster);

        Assert.NotEmpty(parse.Errors);
    }

    [Fact]
    public void Node_cannot_both_found_and_join()
    {
        var parse = _cli.Parse("node", "--id", "4", "--address", "127.0.0.1:9004", "--data", "d",
            "--cluster", "4@127.0.0.1:9004", "--join", "127.0.0.1:9001");

        Assert.Contains(parse.Errors, e => e.Message.Contains("exclude each other", StringComparison.Ordinal));
    }

    [Fact]
    public void Node_takes_a_commit_timeout_in_seconds_defaulting_to_the_node_options()
    {
        string[] node = ["node", "--id", "1", "--address", "127.0.0.1:9001", "--data", "d"];
        Assert.Equal(new NodeOptions().CommitTimeout.TotalSeconds, _cli.Parse(node).GetValue<double>("--commit-timeout"));
        var parse = _cli.Parse([.. node, "--commit-timeout", "45.5"]);
        Assert.Empty(parse.Errors);
        Assert.Equal(45.5, parse.GetValue<double>("--commit-timeout"));
        Assert.NotEmpty(_cli.Parse([.. node, "--commit-timeout", "0"]).Errors);
        Assert.NotEmpty(_cli.Parse([.. node, "--commit-timeout", "-3"]).Errors);
    }

    [Fact]
    public void Node_requires_id_address_and_data()
    {
        Assert.Equal(3, _cli.Parse("node").Errors.Count);
    }

    [Fact]
    public void Query_reads_consistency_and_format_case_insensitively()
    {
        var parse = _cli.Parse("query", "--nodes", "127.0.0.1:9001,127.0.0.1:9002", "--db", "app.db",
            "--consistency", "local", "--format", "CSV", "SELECT 1");

        Assert.Empty(parse.Errors);
        Assert.Equal(["127.0.0.1:9001", "127.0.0.1:9002"], parse.GetRequiredValue<string[]>("--nodes"));
        Assert.Equal(ReadConsistency.Local, parse.GetValue<ReadConsistency>("--consistency"));
        Assert.Equal(Output.ResultFormat.Csv, parse.GetValue<Output.ResultFormat>("--format"));
        Assert.Equal("SELECT 1", parse.GetValue<string>("sql"));
    }

    [Fact]
    public void Query_defaults_to_linearizable_reads_in_a_table()
    {
        var parse = _cli.Parse("query", "-n", "127.0.0.1:9001", "-d", "app.db", "SELECT 1");

        Assert.Empty(parse.Errors);
        Assert.Equal(ReadConsistency.Linearizable, parse.GetValue<ReadConsistency>("--consistency"));
        Assert.Equal(Output.ResultFormat.Table, parse.GetValue<Output.ResultFormat>("--format"));
    }

    [Theory]
    [InlineData("exec", "--db", "app.db", "SELECT 1")]
    [InlineData("exec", "--nodes", "127.0.0.1", "--db", "app.db", "SELECT 1")]
    [InlineData("exec", "--nodes", "127.0.0.1:9001", "SELECT 1")]
    [InlineData("exec", "--nodes", "127.0.0.1:9001", "--db", "app.db")]
    [InlineData("query", "--nodes", "127.0.0.1:9001", "--db", "a", "--consistency", "eventual", "SELECT 1")]
    [InlineData("exec", "--nodes", "127.0.0.1:9001", "--db", "a", "--param", "novalue", "SELECT 1")]
    [InlineData("dump", "--nodes", "127.0.0.1:9001,127.0.0.1:9002", "--db", "a", "--out", "f.db")]
    [InlineData("cluster", "add", "0", "127.0.0.1:9004", "--nodes", "127.0.0.1:9001")]
    [InlineData("cluster", "add", "4", "nohost", "--nodes", "127.0.0.1:9001")]
    [InlineData("cluster", "assign", "2", "boss", "--nodes", "127.0.0.1:9001")]
    [InlineData("bench", "--seconds", "0")]
    [InlineData("bench", "--failover-trials", "-1")]
    [InlineData("bench", "--warmup-writes", "-1")]
    [InlineData("bench", "--bulk-mib", "0")]
    [InlineData("node", "--id", "0", "--address", "127.0.0.1:9001", "--data", "d")]
    public void Malformed_command_lines_are_refused(params string[] args)
    {
        Assert.NotEmpty(_cli.Parse(args).Errors);
    }

    [Fact]
    public void Bench_runs_with_its_defaults()
    {
        var parse = _cli.Parse("bench");

        Assert.Empty(parse.Errors);
        Assert.Equal(3, parse.GetValue<double>("--seconds"));
        Assert.Equal(10, parse.GetValue<int>("--failover-trials"));
        Assert.Equal(256, parse.GetValue<int>("--bulk-mib"));
    }

    [Fact]
    public void Exec_types_its_parameters()
    {
        var parse = _cli.Parse("exec", "-n", "127.0.0.1:9001", "-d", "app.db",
            "-p", "@i=42", "-p", "r=1.5", "-p", "t='007'", "-p", "n=null", "-p", "s=Laptop", "INSERT ...");

        Assert.Empty(parse.Errors);
        var parameters = parse.GetValue<Dictionary<string, object?>>("--param");
        Assert.NotNull(parameters);
        Assert.Equal(42L, parameters["@i"]);
        Assert.Equal(1.5, parameters["r"]);
        Assert.Equal("007", parameters["t"]);
        Assert.Null(parameters["n"]);
        Assert.Equal("Laptop", parameters["s"]);
    }

    [Fact]
    public void Cluster_subcommands_take_the_nodes_option_before_or_after()
    {
        var before = _cli.Parse("cluster", "--nodes", "127.0.0.1:9001", "assign", "2", "voter");
        var after = _cli.Parse("cluster", "transfer", "3", "--nodes", "127.0.0.1:9001");

        Assert.Empty(before.Errors);
        Assert.Equal(NodeRole.Voter, before.GetValue<NodeRole>("role"));
        Assert.Empty(after.Errors);
        Assert.Equal(3UL, after.GetValue<ulong>("id"));
    }
}
