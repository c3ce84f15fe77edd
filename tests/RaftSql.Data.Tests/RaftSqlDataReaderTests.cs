using System.Data;
using RaftSql.Data.Tests.Infrastructure;

namespace RaftSql.Data.Tests;

[Collection(ClusterCollection.Name)]
public sealed class RaftSqlDataReaderTests(ClusterFixture fixture)
{
    [Fact]
    public void Names_ordinals_types_and_values()
    {
        string t = ClusterFixture.Table("rd");
        using var connection = fixture.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"CREATE TABLE {t}(Id INTEGER, Name TEXT, Score REAL, Data BLOB, Missing TEXT); INSERT INTO {t} VALUES (1, 'n', 2.5, x'0102', NULL)";
        command.ExecuteNonQuery();
        command.CommandText = $"SELECT Id, Name, Score, Data, Missing, 1 + 1 AS two FROM {t}";
        using var reader = command.ExecuteReader();
        Assert.Equal(6, reader.FieldCount);
        Assert.True(reader.HasRows);
        Assert.Equal("Name", reader.GetName(1));
        Assert.Equal(1, reader.GetOrdinal("Name"));
        Assert.Equal(1, reader.GetOrdinal("NAME"));
        Assert.Throws<IndexOutOfRangeException>(() => reader.GetOrdinal("nope"));
        Assert.Equal("INTEGER", reader.GetDataTypeName(0));
        Assert.Equal("TEXT", reader.GetDataTypeName(4));
        Assert.Equal(typeof(string), reader.GetFieldType(4));
        Assert.Throws<InvalidOperationException>(() => reader.GetValue(0));

        Assert.True(reader.Read());
        Assert.Equal(1L, reader[0]);
        Assert.Equal("n", reader["Name"]);
        Assert.Equal(2.5, reader.GetDouble(2));
        Assert.Equal(typeof(byte[]), reader.GetFieldType(3));
        Assert.Equal(new byte[] { 1, 2 }, reader.GetFieldValue<byte[]>(3));
        using (Stream stream = reader.GetStream(3))
            Assert.Equal(2, stream.Length);
        Assert.Equal(2L, reader.GetBytes(3, 0, null, 0, 0));
        Assert.True(reader.IsDBNull(4));
        Assert.Equal(2, reader.GetInt32(5));
        Assert.Equal("INTEGER", reader.GetDataTypeName(5));
        var values = new object[6];
        Assert.Equal(6, reader.GetValues(values));
        Assert.Equal(DBNull.Value, values[4]);
        Assert.Throws<IndexOutOfRangeException>(() => reader.GetValue(6));
        Assert.False(reader.Read());
    }

    [Fact]
    public void HasRows_is_false_for_an_empty_result_and_FieldCount_zero_without_one()
    {
        using var connection = fixture.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 WHERE 0";
        using (var reader = command.ExecuteReader())
        {
            Assert.Equal(1, reader.FieldCount);
            Assert.False(reader.HasRows);
            Assert.False(reader.Read());
        }
        string t = ClusterFixture.Table("nocols");
        command.CommandText = $"CREATE TABLE {t}(x)";
        using (var reader = command.ExecuteReader())
        {
            Assert.Equal(0, reader.FieldCount);
            Assert.False(reader.Read());
            Assert.False(reader.NextResult());
        }
    }

    [Fact]
    public async Task Large_results_stream_in_pages_and_an_early_dispose_releases_the_cursor()
    {
        await using var connection = fixture.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) SELECT i, randomblob(100) FROM n";
        long sum = 0;
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
                sum += reader.GetInt64(0);
        }
        Assert.Equal(5000L * 5001 / 2, sum);

        await using (var reader = await command.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
        }
        command.CommandText = "SELECT 7";
        Assert.Equal(7L, await command.ExecuteScalarAsync());
    }

    [Fact]
    public void Schema_table_describes_the_columns()
    {
        string t = ClusterFixture.Table("schema");
        using var connection = fixture.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"CREATE TABLE {t}(a INTEGER, b VARCHAR(10), c BLOB)";
        command.ExecuteNonQuery();
        command.CommandText = $"SELECT a, b, c FROM {t}";
        using var reader = command.ExecuteReader();
        DataTable schema = reader.GetSchemaTable();
        Assert.Equal(["a", "b", "c"], schema.Rows.Cast<DataRow>().Select(r => (string)r["ColumnName"]));
        Assert.Equal([typeof(long), typeof(string), typeof(byte[])], schema.Rows.Cast<DataRow>().Select(r => (Type)r["DataType"]));
        Assert.Equal(1, schema.Rows[1]["ColumnOrdinal"]);
        Assert.StartsWith("VARCHAR", (string)schema.Rows[1]["DataTypeName"], StringComparison.Ordinal);
    }

    [Fact]
    public void Closed_reader_refuses_access_and_CloseConnection_closes_the_connection()
    {
        using var connection = fixture.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        var reader = command.ExecuteReader(CommandBehavior.CloseConnection);
        reader.Close();
        Assert.True(reader.IsClosed);
        Assert.Throws<InvalidOperationException>(() => reader.Read());
        Assert.Equal(ConnectionState.Closed, connection.State);
    }
}
