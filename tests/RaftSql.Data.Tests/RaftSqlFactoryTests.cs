namespace RaftSql.Data.Tests;

public sealed class RaftSqlFactoryTests
{
    [Fact]
    public void Creates_the_providers_types()
    {
        RaftSqlFactory factory = RaftSqlFactory.Instance;
        Assert.IsType<RaftSqlConnection>(factory.CreateConnection());
        Assert.IsType<RaftSqlCommand>(factory.CreateCommand());
        Assert.IsType<RaftSqlParameter>(factory.CreateParameter());
        Assert.IsType<RaftSqlConnectionStringBuilder>(factory.CreateConnectionStringBuilder());
        Assert.IsType<RaftSqlDataSource>(factory.CreateDataSource("Nodes=a:1;Database=x.db"));
    }
}
