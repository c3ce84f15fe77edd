namespace RaftSql.Data.Tests;

public sealed class RaftSqlConnectionStringBuilderTests
{
    [Fact]
    public void Parses_keywords_case_insensitively_with_aliases()
    {
        var builder = new RaftSqlConnectionStringBuilder(
            "nodes=127.0.0.1:9001, 127.0.0.1:9002;DATABASE=app.db;read consistency=lease;Command Timeout=12;Connect Timeout=2;Pooling=false");
        Assert.Equal(["127.0.0.1:9001", "127.0.0.1:9002"], builder.NodeList);
        Assert.Equal("app.db", builder.Database);
        Assert.Equal(ReadConsistency.Lease, builder.ReadConsistency);
        Assert.Equal(12, builder.DefaultTimeout);
        Assert.Equal(2, builder.ConnectTimeout);
        Assert.False(builder.Pooling);
        Assert.Equal(12, builder["default timeout"]);
    }

    [Fact]
    public void Defaults_and_round_trip()
    {
        var builder = new RaftSqlConnectionStringBuilder();
        Assert.Equal(ReadConsistency.Session, builder.ReadConsistency);
        Assert.Equal(30, builder.DefaultTimeout);
        Assert.Equal(5, builder.ConnectTimeout);
        Assert.True(builder.Pooling);
        Assert.Equal("", builder.ConnectionString);

        builder.Nodes = "a:1";
        builder.Database = "x.db";
        builder.ReadConsistency = ReadConsistency.Linearizable;
        var copy = new RaftSqlConnectionStringBuilder(builder.ConnectionString);
        Assert.Equal(("a:1", "x.db", ReadConsistency.Linearizable), (copy.Nodes, copy.Database, copy.ReadConsistency));

        copy.Remove("Read Consistency");
        Assert.Equal(ReadConsistency.Session, copy.ReadConsistency);
        copy.Clear();
        Assert.Equal("", copy.Nodes);
    }

    [Theory]
    [InlineData("Server=x")]
    [InlineData("Read Consistency=Strong")]
    [InlineData("Read Consistency=2")]
    [InlineData("Default Timeout=soon")]
    [InlineData("Default Timeout=-1")]
    [InlineData("Connect Timeout=0")]
    [InlineData("Pooling=maybe")]
    public void Bad_keywords_and_values_are_refused(string connectionString)
    {
        Assert.ThrowsAny<ArgumentException>(() => new RaftSqlConnectionStringBuilder(connectionString));
    }
}
