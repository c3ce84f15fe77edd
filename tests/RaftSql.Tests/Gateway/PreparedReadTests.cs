using Google.Protobuf;
using Microsoft.Data.Sqlite;
using RaftSql.Gateway;
using RaftSql.Protocol;
using Xunit;

namespace RaftSql.Tests.Gateway;

/// <summary>
/// <see cref="PreparedRead"/> runs reads with SQLite's own API in place of Microsoft.Data.Sqlite's reader: every
/// answer here is checked against what Microsoft.Data.Sqlite gives for the same text and parameters.
/// </summary>
public sealed class PreparedReadTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"raftsql-prepared-read-{Guid.NewGuid():N}.db");
    private readonly SqliteConnection _connection;

    public PreparedReadTests()
    {
        _connection = new SqliteConnection($"Data Source={_path};Pooling=False");
        _connection.Open();
        using var setup = _connection.CreateCommand();
        setup.CommandText = """
            CREATE TABLE t(id INTEGER PRIMARY KEY, name VARCHAR(20), score REAL, data BLOB);
            INSERT INTO t VALUES (1, 'one', 1.5, x'01'), (2, 'two', NULL, x''), (3, NULL, -2.25, NULL);
            """;
        setup.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _connection.Dispose();
        File.Delete(_path);
        File.Delete(_path + "-journal");
    }

    [Theory]
    [InlineData("SELECT * FROM t ORDER BY id")]
    [InlineData("SELECT id, name FROM t WHERE id = @id")]
    [InlineData("SELECT id FROM t WHERE id = $id OR name = :name")]
    [InlineData("SELECT count(*), sum(score), 'x' || @name, @data FROM t")]
    [InlineData("SELECT 1; SELECT name FROM t WHERE id > @id; SELECT 2 AS two")]
    [InlineData("SELECT id FROM t WHERE 0")]
    [InlineData("SELECT @name")]
    [InlineData("SELECT $name")]
    [InlineData("SELECT ?1 + 1, ?2")]
    public void Answers_as_Microsoft_Data_Sqlite_does(string sql)
    {
        Parameter[] parameters =
        [
            new() { Name = sql.Contains("?1", StringComparison.Ordinal) ? "?1" : "@id", Value = new Value { Integer = 1 } },
            new() { Name = sql.Contains("?2", StringComparison.Ordinal) ? "?2" : "name", Value = new Value { Text = "two" } },
            new() { Name = "@data", Value = new Value { Blob = ByteString.Empty } },
            new() { Name = "@unused", Value = new Value { Real = 3 } },
        ];
        Assert.Equal(Answer(() => Expected(sql, parameters)), Answer(() => Actual(sql, parameters)));
    }

    [Fact]
    public void A_parameter_given_no_value_is_a_SqlError_naming_it()
    {
        using var read = PreparedRead.Prepare(_connection, "SELECT name FROM t WHERE id = @id AND name = @name");
        var error = Assert.Throws<RaftSqlException>(() => read.Start([new Parameter { Name = "@id", Value = new Value { Integer = 1 } }]));
        Assert.Equal(RaftSqlErrorCode.SqlError, error.Code);
        Assert.Contains("@name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_SQLite_error_is_a_SqlError_with_its_code_and_the_statement_can_run_again()
    {
        var error = Assert.Throws<RaftSqlException>(() => PreparedRead.Prepare(_connection, "SELECT nope FROM t"));
        Assert.Equal(RaftSqlErrorCode.SqlError, error.Code);
        Assert.Equal(SQLitePCL.raw.SQLITE_ERROR, error.SqliteErrorCode);

        using var read = PreparedRead.Prepare(_connection, "SELECT abs(@x)");
        var overflow = Assert.Throws<RaftSqlException>(() => read.Start([new Parameter { Name = "@x", Value = new Value { Integer = long.MinValue } }]));
        Assert.Equal(RaftSqlErrorCode.SqlError, overflow.Code);
        Assert.True(read.Start([new Parameter { Name = "@x", Value = new Value { Integer = -4 } }]));
        Assert.True(read.Read());
        Assert.Equal(4, read.GetInt64(0));
    }

    [Fact]
    public void A_NaN_parameter_is_refused_as_Microsoft_Data_Sqlite_refuses_it()
    {
        using var read = PreparedRead.Prepare(_connection, "SELECT @x");
        var error = Assert.Throws<RaftSqlException>(() => read.Start([new Parameter { Name = "@x", Value = new Value { Real = double.NaN } }]));
        Assert.Equal(RaftSqlErrorCode.SqlError, error.Code);
    }

    [Fact]
    public void Ending_a_run_ends_its_read_transaction()
    {
        using var read = PreparedRead.Prepare(_connection, "SELECT id FROM t ORDER BY id");
        Assert.True(read.Start([]));
        Assert.True(read.Read());
        Assert.True(ReadTransactionOpen());
        read.End();
        Assert.False(ReadTransactionOpen());
        Assert.Equal(0, read.FieldCount);
        Assert.False(read.Read());
        // Run again from the start: the same rows.
        Assert.True(read.Start([]));
        Assert.True(read.Read());
        Assert.Equal(1, read.GetInt64(0));
    }

    /// <summary>Whether a read transaction is open on the file: a write from another connection (no busy
    /// handler) then gets SQLITE_BUSY at once.</summary>
    private bool ReadTransactionOpen()
    {
        using var other = new SqliteConnection($"Data Source={_path};Pooling=False");
        other.Open();
        int rc = SQLitePCL.raw.sqlite3_exec(other.Handle, "UPDATE t SET score = score WHERE id = 1");
        Assert.True(rc is SQLitePCL.raw.SQLITE_OK or SQLitePCL.raw.SQLITE_BUSY, $"rc {rc}");
        return rc == SQLitePCL.raw.SQLITE_BUSY;
    }

    /// <summary>The lines, or the error: both sides must fail alike (a parameter named with another prefix has no
    /// value). Only the first missing name is compared: Microsoft.Data.Sqlite's list also names parameters it
    /// bound through a prefix.</summary>
    private static List<string> Answer(Func<List<string>> run)
    {
        try
        {
            return run();
        }
        catch (SqliteException ex)
        {
            return [$"error {ex.SqliteErrorCode}"];
        }
        catch (InvalidOperationException ex) when (ex.Message.StartsWith("Must add values", StringComparison.Ordinal))
        {
            return [FirstMissing(ex.Message)];
        }
        catch (RaftSqlException ex) when (ex.Message.StartsWith("Must add values", StringComparison.Ordinal))
        {
            return [FirstMissing(ex.Message)];
        }
        catch (RaftSqlException ex)
        {
            return [$"error {ex.SqliteErrorCode}"];
        }
    }

    private static string FirstMissing(string message) =>
        "error missing " + message[(message.IndexOf(':', StringComparison.Ordinal) + 2)..].Split(", ")[0];

    private List<string> Expected(string sql, Parameter[] parameters)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var p in parameters)
            command.Parameters.Add(new SqliteParameter(p.Name, SqlValues.FromWire(p.Value)));
        var lines = new List<string>();
        using var reader = command.ExecuteReader();
        do
        {
            lines.Add($"set {reader.FieldCount} hasRows={reader.HasRows}");
            for (int i = 0; i < reader.FieldCount; i++)
                lines.Add($"column {reader.GetName(i)} {reader.GetDataTypeName(i)}");
            while (reader.Read())
            {
                for (int i = 0; i < reader.FieldCount; i++)
                    lines.Add(reader.IsDBNull(i) ? "null" : Describe(reader.GetValue(i)));
            }
        }
        while (reader.NextResult());
        lines.Add($"affected {reader.RecordsAffected}");
        return lines;
    }

    private List<string> Actual(string sql, Parameter[] parameters)
    {
        using var read = PreparedRead.Prepare(_connection, sql);
        var lines = new List<string>();
        // Run twice: a cached statement must answer the same the second time.
        for (int run = 0; run < 2; run++)
        {
            lines.Clear();
            var more = read.Start(parameters);
            while (more)
            {
                lines.Add($"set {read.FieldCount} hasRows={read.HasRows}");
                for (int i = 0; i < read.FieldCount; i++)
                    lines.Add($"column {read.GetName(i)} {read.GetDeclaredType(i)}");
                while (read.Read())
                {
                    for (int i = 0; i < read.FieldCount; i++)
                    {
                        lines.Add(read.ColumnType(i) switch
                        {
                            SQLitePCL.raw.SQLITE_INTEGER => Describe(read.GetInt64(i)),
                            SQLitePCL.raw.SQLITE_FLOAT => Describe(read.GetDouble(i)),
                            SQLitePCL.raw.SQLITE_TEXT => Describe(read.GetText(i)),
                            SQLitePCL.raw.SQLITE_BLOB => Describe(read.GetBlob(i)),
                            _ => "null",
                        });
                    }
                }
                more = read.NextResult();
            }
            lines.Add($"affected {read.RecordsAffected}");
            read.End();
        }
        return lines;
    }

    private static string Describe(object value) => value switch
    {
        byte[] blob => "blob " + Convert.ToHexString(blob),
        double real => "real " + real.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => $"{value.GetType().Name} {value}",
    };
}
