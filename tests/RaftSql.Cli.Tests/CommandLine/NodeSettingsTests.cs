using Microsoft.Extensions.Logging;
using RaftSql.Cli.Commands;

namespace RaftSql.Cli.Tests.CommandLine;

public sealed class NodeSettingsTests
{
    private static NodeSettings Settings(NodeInfo[] cluster, string[] join) => new(
        1, "127.0.0.1:9001", "d", null, cluster, join, NodeRole.Standby,
        TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(600), TimeSpan.FromSeconds(10), LogLevel.Information);

    [Fact]
    public void A_node_given_neither_cluster_nor_join_founds_a_cluster_of_itself()
    {
        Assert.Equal([new NodeInfo(1, "127.0.0.1:9001")], Settings([], []).InitialCluster);
    }

    [Fact]
    public void A_joining_node_starts_with_no_initial_cluster()
    {
        Assert.Empty(Settings([], ["127.0.0.1:9002"]).InitialCluster);
    }

    [Fact]
    public void A_founding_node_uses_the_given_cluster()
    {
        NodeInfo[] cluster = [new(1, "127.0.0.1:9001"), new(2, "127.0.0.1:9002")];
        Assert.Equal(cluster, Settings(cluster, []).InitialCluster);
    }
}
