using Microsoft.Data.Sqlite;

namespace RaftSql.Cli.Bench;

/// <summary>One point reader on the baseline file, with its own Microsoft.Data.Sqlite connection.</summary>
internal sealed class BaselineReader : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _read;
    private readonly SqliteParameter _id;

    public BaselineReader(string path)
    {
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _connection.Open();
        _read = _connection.CreateCommand();
        _read.CommandText = Workload.PointRead;
        _id = _read.Parameters.Add("@id", SqliteType.Integer);
        _read.Prepare();
    }

    /// <summary>Reads row <paramref name="id"/>; checks the answer as the cluster's readers do.</summary>
    public Task ReadAsync(long id)
    {
        _id.Value = id;
        if (_read.ExecuteScalar() is not string)
            throw new InvalidOperationException($"Row {id} was not found in the baseline.");
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _read.Dispose();
        _connection.Dispose();
    }
}
