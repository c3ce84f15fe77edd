using ClusterDemo;
using RaftSql.Cli.Tests.Support;

namespace RaftSql.Cli.Tests.Demo;

public sealed class ClusterDemoTests
{
    [Fact]
    public async Task Walkthrough_replicates_fails_over_and_counts_on_the_survivors()
    {
        var output = new StringWriter();

        await new ClusterWalkthrough(output, RaftSql.Testing.TestPorts.Take(3)).RunAsync();

        var lines = output.ToString().Split('\n', StringSplitOptions.TrimEntries);
        foreach (var id in new[] { 1, 2, 3 })
            Assert.Contains($"Node {id} has 3 products", lines);
        var shutDown = Assert.Single(lines, l => l.EndsWith(" shut down.", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("New leader elected!", StringComparison.Ordinal));
        Assert.Contains("Successfully wrote to new leader!", lines);
        var survivors = lines.Where(l => l.EndsWith(" has 4 products", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, survivors.Count);
        Assert.DoesNotContain(shutDown.Replace(" shut down.", " has 4 products", StringComparison.Ordinal), survivors);
        Assert.Equal("Example completed successfully!", lines.Last(l => l.Length > 0));
    }
}
