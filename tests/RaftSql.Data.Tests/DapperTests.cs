using Dapper;
using RaftSql.Data.Tests.Infrastructure;

namespace RaftSql.Data.Tests;

[Collection(ClusterCollection.Name)]
public sealed class DapperTests(ClusterFixture fixture)
{
    public sealed record Author(long Id, string Name);

    public sealed class Book
    {
        public long Id { get; set; }

        public string Title { get; set; } = "";

        public decimal Price { get; set; }

        public DateTime Published { get; set; }

        public Author? Author { get; set; }
    }

    private static (string Authors, string Books) CreateTables(RaftSqlConnection connection)
    {
        string authors = ClusterFixture.Table("authors");
        string books = ClusterFixture.Table("books");
        connection.Execute($"""
            CREATE TABLE {authors}(Id INTEGER PRIMARY KEY, Name TEXT NOT NULL);
            CREATE TABLE {books}(Id INTEGER PRIMARY KEY, Title TEXT, Price TEXT, Published TEXT, AuthorId INTEGER REFERENCES {authors}(Id));
            """);
        return (authors, books);
    }

    [Fact]
    public void Execute_Query_QueryFirstOrDefault_ExecuteScalar_and_multi_mapping()
    {
        using var connection = fixture.Open();
        var (authors, books) = CreateTables(connection);

        Assert.Equal(1, connection.Execute($"INSERT INTO {authors}(Id, Name) VALUES (@Id, @Name)", new { Id = 1, Name = "Ursula" }));
        Assert.Equal(2, connection.Execute($"INSERT INTO {books}(Title, Price, Published, AuthorId) VALUES (@Title, @Price, @Published, 1)",
            new[]
            {
                new { Title = "Earthsea", Price = 9.99m, Published = new DateTime(1968, 11, 1) },
                new { Title = "Dispossessed", Price = 12.5m, Published = new DateTime(1974, 5, 1) },
            }));

        List<Book> all = connection.Query<Book>($"SELECT Id, Title, Price, Published FROM {books} ORDER BY Id").ToList();
        Assert.Equal(["Earthsea", "Dispossessed"], all.Select(b => b.Title));
        Assert.Equal(9.99m, all[0].Price);
        Assert.Equal(new DateTime(1968, 11, 1), all[0].Published);

        Assert.Null(connection.QueryFirstOrDefault<Book>($"SELECT * FROM {books} WHERE Id = @id", new { id = 404 }));
        Assert.Equal("Dispossessed", connection.QueryFirstOrDefault<Book>($"SELECT * FROM {books} WHERE Published > @after", new { after = new DateTime(1970, 1, 1) })!.Title);
        Assert.Equal(2L, connection.ExecuteScalar<long>($"SELECT count(*) FROM {books}"));

        List<Book> mapped = connection.Query<Book, Author, Book>(
            $"SELECT b.Id, b.Title, a.Id, a.Name FROM {books} b JOIN {authors} a ON a.Id = b.AuthorId ORDER BY b.Id",
            (book, author) => { book.Author = author; return book; },
            splitOn: "Id").ToList();
        Assert.All(mapped, b => Assert.Equal("Ursula", b.Author!.Name));
    }

    [Fact]
    public async Task Inside_a_transaction_commit_keeps_and_rollback_drops()
    {
        await using var connection = fixture.Open();
        var (authors, _) = CreateTables(connection);

        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await connection.ExecuteAsync($"INSERT INTO {authors}(Name) VALUES (@Name)", new { Name = "kept" }, transaction);
            Assert.Equal(1L, await connection.ExecuteScalarAsync<long>($"SELECT count(*) FROM {authors}", transaction: transaction));
            Assert.Equal("kept", (await connection.QueryAsync<Author>($"SELECT Id, Name FROM {authors}", transaction: transaction)).Single().Name);
            await transaction.CommitAsync();
        }
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await connection.ExecuteAsync($"INSERT INTO {authors}(Name) VALUES (@Name)", new { Name = "dropped" }, transaction);
            await transaction.RollbackAsync();
        }

        Assert.Equal(["kept"], await connection.QueryAsync<string>($"SELECT Name FROM {authors}"));
    }
}
