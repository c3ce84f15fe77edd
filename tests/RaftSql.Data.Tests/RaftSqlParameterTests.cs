using System.Data;
using Microsoft.Data.Sqlite;
using RaftSql.Data.Tests.Infrastructure;

namespace RaftSql.Data.Tests;

[Collection(ClusterCollection.Name)]
public sealed class RaftSqlParameterTests(ClusterFixture fixture)
{
    public enum Color : short
    {
        Red = 1,
        Blue = 7,
    }

    public static TheoryData<object, string> Values() => new()
    {
        { true, "integer" },
        { (byte)200, "integer" },
        { (sbyte)-5, "integer" },
        { (short)-300, "integer" },
        { (ushort)60000, "integer" },
        { 123456, "integer" },
        { 4000000000u, "integer" },
        { long.MinValue, "integer" },
        { 3.25d, "real" },
        { 1.5f, "real" },
        { 79228162514264337593543950335m, "text" },
        { 0.1m, "text" },
        { "héllo", "text" },
        { 'x', "text" },
        { new byte[] { 0, 1, 2, 255 }, "blob" },
        { new DateTime(2024, 2, 29, 13, 45, 12, 345), "text" },
        { new DateTimeOffset(2024, 2, 29, 13, 45, 12, TimeSpan.FromHours(-5)), "text" },
        { new DateOnly(1999, 12, 31), "text" },
        { new TimeOnly(23, 59, 58, 123), "text" },
        { TimeSpan.FromHours(27.5), "text" },
        { Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"), "text" },
        { Color.Blue, "integer" },
    };

    [Theory]
    [MemberData(nameof(Values))]
    public void Every_type_round_trips_with_the_storage_class_of_Microsoft_Data_Sqlite(object value, string storageClass)
    {
        using var connection = fixture.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT @v, typeof(@v)";
        command.Parameters.AddWithValue("@v", value);
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal(storageClass, reader.GetString(1));
        object back = typeof(RaftSqlDataReader).GetMethod(nameof(RaftSqlDataReader.GetFieldValue))!
            .MakeGenericMethod(value.GetType()).Invoke(reader, [0])!;
        Assert.Equal(value, back);
    }

    [Fact]
    public void Null_and_DBNull_bind_NULL_and_read_back_as_null()
    {
        using var connection = fixture.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT @a, @b";
        command.Parameters.AddWithValue("@a", null);
        command.Parameters.AddWithValue("@b", DBNull.Value);
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        Assert.True(reader.IsDBNull(0));
        Assert.Equal(DBNull.Value, reader.GetValue(1));
        Assert.Null(reader.GetFieldValue<int?>(0));
        Assert.Null(reader.GetFieldValue<string?>(1));
        Assert.Throws<InvalidCastException>(() => reader.GetInt32(0));
    }

    [Fact]
    public void Guid_with_DbType_Binary_is_a_16_byte_blob()
    {
        Guid guid = Guid.NewGuid();
        using var connection = fixture.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT @g, typeof(@g)";
        command.Parameters.Add(new RaftSqlParameter("@g", guid) { DbType = DbType.Binary });
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal("blob", reader.GetString(1));
        Assert.Equal(guid, reader.GetGuid(0));
        Assert.Equal(guid.ToByteArray(), (byte[])reader.GetValue(0));
    }

    [Theory]
    [InlineData("SELECT @p", "@p")]
    [InlineData("SELECT :p", ":p")]
    [InlineData("SELECT $p", "$p")]
    [InlineData("SELECT @p", "p")]
    [InlineData("SELECT :p", "p")]
    [InlineData("SELECT $p, '@p'", "p")]
    public void Named_parameters_bind_with_any_prefix(string sql, string name)
    {
        using var connection = fixture.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue(name, 11);
        Assert.Equal(11L, command.ExecuteScalar());
    }

    [Fact]
    public void Unnamed_parameters_bind_by_position()
    {
        using var connection = fixture.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT ? || '-?-' || ? /* ? */";
        command.Parameters.Add(new RaftSqlParameter { Value = "a" });
        command.Parameters.Add(new RaftSqlParameter { Value = "b" });
        Assert.Equal("a-?-b", command.ExecuteScalar());
    }

    [Fact]
    public void Size_truncates_text_and_unsupported_values_are_refused()
    {
        using var connection = fixture.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT @p";
        command.Parameters.Add(new RaftSqlParameter("@p", "abcdef") { Size = 3 });
        Assert.Equal("abc", command.ExecuteScalar());
        command.Parameters[0].Value = new object();
        Assert.Throws<InvalidOperationException>(() => command.ExecuteScalar());
        command.Parameters[0].Value = double.NaN;
        Assert.Throws<InvalidOperationException>(() => command.ExecuteScalar());
        Assert.Throws<ArgumentException>(() => command.Parameters[0].Direction = ParameterDirection.Output);
    }

    [Fact]
    public void Collection_finds_parameters_with_or_without_prefix()
    {
        var command = new RaftSqlCommand();
        command.Parameters.AddWithValue("@id", 1);
        command.Parameters.AddWithValue("name", "x");
        Assert.True(command.Parameters.Contains("id"));
        Assert.Equal(1, command.Parameters.IndexOf("@name"));
        Assert.Equal("x", command.Parameters["$name"].Value);
        command.Parameters.RemoveAt("id");
        Assert.Equal(1, command.Parameters.Count);
        Assert.Throws<IndexOutOfRangeException>(() => command.Parameters["missing"]);
        Assert.Throws<InvalidCastException>(() => command.Parameters.Add((object)"not a parameter"));
    }

    [Fact]
    public void A_database_written_by_Microsoft_Data_Sqlite_conventions_reads_the_same()
    {
        // The same values bound by Microsoft.Data.Sqlite into a plain file give the same stored text/blobs.
        using var plain = new SqliteConnection("Data Source=:memory:");
        plain.Open();
        foreach (object value in Values().Select(row => row[0]))
        {
            using var sqlite = plain.CreateCommand();
            sqlite.CommandText = "SELECT @v";
            sqlite.Parameters.AddWithValue("@v", value);
            Assert.Equal(sqlite.ExecuteScalar(), SqliteStored(value));
        }
    }

    /// <summary>What our provider stores for <paramref name="value"/>, read back as a raw storage class.</summary>
    private object SqliteStored(object value)
    {
        using var connection = fixture.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT @v";
        command.Parameters.AddWithValue("@v", value);
        return command.ExecuteScalar()!;
    }
}
