// Dapper over a RaftSql connection string. Starts a three-node cluster in this process (so the sample
// runs on its own), then talks to it only through "Nodes=...;Database=..." as a remote app would.
using System.Net;
using System.Net.Sockets;
using Dapper;
using RaftSql;
using RaftSql.Data;

string root = Path.Combine(Path.GetTempPath(), "raftsql-dapper-" + Guid.NewGuid().ToString("N"));
NodeInfo[] members = [.. Enumerable.Range(1, 3).Select(id => new NodeInfo((ulong)id, $"127.0.0.1:{FreePort()}"))];
var nodes = new List<Node>();
foreach (NodeInfo member in members)
{
    var node = new Node(new NodeOptions { Id = member.Id, Address = member.Address, DataDirectory = Path.Combine(root, $"node{member.Id}"), InitialCluster = members });
    await node.StartAsync();
    nodes.Add(node);
}

try
{
    string connectionString = $"Nodes={string.Join(",", members.Select(m => m.Address))};Database=shop.db";
    Console.WriteLine($"Connection string: {connectionString}");

    await using var connection = new RaftSqlConnection(connectionString);
    await connection.OpenAsync();

    await connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS products(id INTEGER PRIMARY KEY, name TEXT NOT NULL, price TEXT NOT NULL)");
    await connection.ExecuteAsync("INSERT INTO products(name, price) VALUES (@Name, @Price)",
        new[] { new { Name = "Kettle", Price = 24.90m }, new { Name = "Teapot", Price = 31.50m } });

    await using (var transaction = await connection.BeginTransactionAsync())
    {
        await connection.ExecuteAsync("UPDATE products SET price = @Price WHERE name = @Name", new { Name = "Kettle", Price = 19.90m }, transaction);
        await transaction.CommitAsync();
    }

    foreach (Product product in await connection.QueryAsync<Product>("SELECT id, name, price FROM products ORDER BY id"))
        Console.WriteLine($"{product.Id}: {product.Name} costs {product.Price}");
    Console.WriteLine($"Products: {await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM products")}");
}
finally
{
    foreach (Node node in nodes)
        await node.DisposeAsync();
    Directory.Delete(root, recursive: true);
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

internal sealed class Product
{
    public long Id { get; set; }

    public string Name { get; set; } = "";

    public decimal Price { get; set; }
}
