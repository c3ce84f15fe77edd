using RaftSql.Cli.Output;
using RaftSql.Cli.Tests.Support;

namespace RaftSql.Cli.Tests.CommandLine;

public sealed class OutputTests
{
    [Fact]
    public void Csv_quotes_what_needs_quoting_and_leaves_null_empty()
    {
        var result = new QueryResult(["id", "name", "blob", "price"],
        [
            [1L, "Mouse, \"wireless\"", new byte[] { 0xCA, 0xFE }, 29.99],
            [2L, DBNull.Value, DBNull.Value, 1e-7],
        ]);

        Assert.Equal(
            "id,name,blob,price\r\n1,\"Mouse, \"\"wireless\"\"\",X'CAFE',29.99\r\n2,,,1E-07\r\n",
            ResultWriter.ToCsv(result));
    }

    [Fact]
    public async Task A_node_that_cannot_be_reached_gives_its_error_code_and_a_failing_exit_code()
    {
        var cli = new Cli();
        var port = RaftSql.Testing.TestPorts.Take(1)[0];

        var exit = await cli.RunAsync("exec", "--nodes", $"127.0.0.1:{port}", "--db", "app.db", "--timeout", "5", "CREATE TABLE t (x)");

        Assert.Equal(ExitCodes.OperationFailed, exit);
        Assert.StartsWith("error: Unavailable:", cli.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_command_line_fails_with_a_message()
    {
        var cli = new Cli();

        var exit = await cli.RunAsync("query", "--db", "app.db", "SELECT 1");

        Assert.NotEqual(ExitCodes.Success, exit);
        Assert.Contains("--nodes", cli.Error, StringComparison.Ordinal);
    }
}
