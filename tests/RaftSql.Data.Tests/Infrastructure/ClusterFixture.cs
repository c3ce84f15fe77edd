namespace RaftSql.Data.Tests.Infrastructure;

/// <summary>One three-node cluster shared by the conformance test classes (each uses its own tables).</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private LocalCluster? _cluster;

    internal LocalCluster Cluster => _cluster ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync() => _cluster = await LocalCluster.StartAsync();

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
            await _cluster.DisposeAsync();
    }

    /// <summary>An open connection listing every node.</summary>
    public RaftSqlConnection Open(string database = "conformance.db")
    {
        var connection = new RaftSqlConnection(Cluster.ConnectionString(database));
        connection.Open();
        return connection;
    }

    /// <summary>A fresh table name, so test classes sharing the cluster never meet.</summary>
    public static string Table(string prefix) => prefix + "_" + Guid.NewGuid().ToString("N")[..8];
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "shared three-node cluster";
}
