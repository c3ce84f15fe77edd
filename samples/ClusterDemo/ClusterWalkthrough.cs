using RaftSql;
using RaftSql.Data;

namespace ClusterDemo;

/// <summary>
/// Three nodes in this process form a cluster, replicate a products table, lose their leader, elect a
/// new one and keep accepting writes. Every step waits for a condition, never for a fixed time.
/// </summary>
internal sealed class ClusterWalkthrough(TextWriter output, IReadOnlyList<int> ports)
{
    private const string Database = "cluster.db";
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(30);

    public async Task RunAsync()
    {
        output.WriteLine("Creating 3-node RaftSql cluster...");
        var cluster = ports.Select((port, i) => new NodeInfo((ulong)(i + 1), $"127.0.0.1:{port}")).ToList();
        var root = Path.Combine(Path.GetTempPath(), "raftsql-demo-" + Guid.NewGuid().ToString("N"));
        var nodes = new List<Node>();
        try
        {
            output.WriteLine("Initializing nodes:");
            foreach (var member in cluster)
            {
                // Every node gets the same initial cluster: that is how they find each other.
                nodes.Add(new Node(new NodeOptions
                {
                    Id = member.Id,
                    Address = member.Address,
                    DataDirectory = Path.Combine(root, $"node{member.Id}"),
                    InitialCluster = cluster,
                }));
                output.WriteLine($"  Node {member.Id}: {member.Address}");
            }

            output.WriteLine("Forming cluster...");
            foreach (var node in nodes)
                await node.StartAsync();
            var leader = await WaitForLeaderAsync(nodes);
            output.WriteLine($"Cluster formed; Node {leader.Id} was elected leader.");

            output.WriteLine($"Writing data to leader (Node {leader.Id})...");
            await using (var connection = leader.CreateConnection(Database))
            {
                await connection.OpenAsync();
                await using var create = connection.CreateCommand();
                create.CommandText = "CREATE TABLE IF NOT EXISTS products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL)";
                await create.ExecuteNonQueryAsync();

                await using var insert = connection.CreateCommand();
                insert.CommandText = "INSERT INTO products (id, name, price) VALUES (@id, @name, @price)";
                foreach (var (id, name, price) in new[] { (1L, "Laptop", 999.99), (2L, "Mouse", 29.99), (3L, "Keyboard", 79.99) })
                {
                    insert.Parameters.Clear();
                    insert.Parameters.AddWithValue("@id", id);
                    insert.Parameters.AddWithValue("@name", name);
                    insert.Parameters.AddWithValue("@price", price);
                    await insert.ExecuteNonQueryAsync();
                }
            }
            output.WriteLine("Inserted 3 products.");

            output.WriteLine("Replicating data...");
            await CountOnEachAsync(nodes);

            output.WriteLine();
            output.WriteLine("Simulating leader failure...");
            await leader.DisposeAsync();
            nodes.Remove(leader);
            output.WriteLine($"Node {leader.Id} shut down.");
            var newLeader = await WaitForLeaderAsync(nodes);
            output.WriteLine($"New leader elected! (Node {newLeader.Id})");

            // Written through the first survivor: if it is not the leader it forwards the write there.
            await using (var connection = nodes[0].CreateConnection(Database))
            {
                await connection.OpenAsync();
                await using var insert = connection.CreateCommand();
                insert.CommandText = "INSERT INTO products (id, name, price) VALUES (@id, @name, @price)";
                insert.Parameters.AddWithValue("@id", 4);
                insert.Parameters.AddWithValue("@name", "Monitor");
                insert.Parameters.AddWithValue("@price", 299.99);
                await insert.ExecuteNonQueryAsync();
            }
            output.WriteLine("Successfully wrote to new leader!");
            await CountOnEachAsync(nodes);
            output.WriteLine("Example completed successfully!");
        }
        finally
        {
            foreach (var node in nodes)
                await node.DisposeAsync();
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temporary directory is harmless.
            }
        }
    }

    /// <summary>Counts the rows in each node's own copy. A linearizable read first confirms the leader
    /// with a quorum and waits until that node has applied everything acknowledged before it.</summary>
    private async Task CountOnEachAsync(IEnumerable<Node> nodes)
    {
        foreach (var node in nodes)
        {
            await using var connection = node.CreateConnection(Database, ReadConsistency.Linearizable);
            await connection.OpenAsync();
            await using var count = connection.CreateCommand();
            count.CommandText = "SELECT COUNT(*) FROM products";
            var products = await count.ExecuteScalarAsync().WaitAsync(StepTimeout);
            output.WriteLine($"Node {node.Id} has {products} products");
        }
    }

    /// <summary>Waits until the running nodes agree on one leader.</summary>
    private static async Task<Node> WaitForLeaderAsync(IReadOnlyList<Node> nodes)
    {
        var deadline = DateTime.UtcNow + StepTimeout;
        while (true)
        {
            var leaders = nodes.Where(n => n.IsLeader).ToList();
            if (leaders.Count == 1 && nodes.All(n => n.LeaderId == leaders[0].Id))
                return leaders[0];
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"No leader was elected within {StepTimeout.TotalSeconds:0} s.");
            await Task.Delay(20);
        }
    }
}
