namespace RaftSql.Tests.Cluster;

/// <summary>A node started with a running node's address must fail at once, without touching its data directory.</summary>
public class AddressInUseTests
{
    [Fact]
    public async Task A_node_on_a_live_node_s_address_fails_with_AddressInUse_before_opening_its_data_directory()
    {
        await using var cluster = await LocalCluster.StartAsync(1);
        await cluster.WaitForLeaderAsync();
        string address = cluster.Infos[1].Address;
        string data = Path.Combine(Path.GetTempPath(), "raftsql-twin-" + Guid.NewGuid().ToString("N"));
        await using var twin = new Node(new NodeOptions { Id = 2, Address = address, DataDirectory = data });

        var error = await Assert.ThrowsAsync<RaftSqlException>(() => twin.StartAsync());

        Assert.Equal(RaftSqlErrorCode.AddressInUse, error.Code);
        Assert.Contains(address, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(data), "the data directory was created");
        await cluster[1].ExecuteAsync("t.db", "CREATE TABLE t (x)");
    }

    [Fact]
    public async Task A_node_on_a_live_node_s_data_directory_fails_with_DataDirectoryInUse_and_the_live_node_goes_on()
    {
        await using var cluster = await LocalCluster.StartAsync(1);
        await cluster.WaitForLeaderAsync();
        var free = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        free.Start();
        var port = ((System.Net.IPEndPoint)free.LocalEndpoint).Port;
        free.Stop();
        await using var twin = new Node(new NodeOptions { Id = 1, Address = $"127.0.0.1:{port}", DataDirectory = cluster.DataDirectory(1) });

        var error = await Assert.ThrowsAsync<RaftSqlException>(() => twin.StartAsync());

        Assert.Equal(RaftSqlErrorCode.DataDirectoryInUse, error.Code);
        await cluster[1].ExecuteAsync("t.db", "CREATE TABLE t (x)");
    }
}
