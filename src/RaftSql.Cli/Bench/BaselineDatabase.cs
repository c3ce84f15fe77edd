using Microsoft.Data.Sqlite;

namespace RaftSql.Cli.Bench;

/// <summary>
/// The baseline: plain Microsoft.Data.Sqlite on one file, WAL mode, synchronous=FULL (an fsync per
/// commit, as durable as the cluster's majority write). SQLite admits one writer at a time, so writers
/// take turns on one connection here rather than spinning in SQLite's busy handler.
/// </summary>
internal sealed class BaselineDatabase : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _insert;
    private readonly SqliteCommand _read;
    private readonly SemaphoreSlim _writeTurn = new(1, 1);

    public BaselineDatabase(string path)
    {
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _connection.Open();
        Run("PRAGMA journal_mode=WAL");
        Run("PRAGMA synchronous=FULL");
        Run(Workload.CreateTable);
        _insert = Prepare(Workload.Insert, "@id", "@payload");
        _read = Prepare(Workload.PointRead, "@id");
    }

    public async Task InsertAsync(long id)
    {
        await _writeTurn.WaitAsync().ConfigureAwait(false);
        try
        {
            _insert.Parameters["@id"].Value = id;
            _insert.Parameters["@payload"].Value = Workload.Payload;
            _insert.ExecuteNonQuery();
        }
        finally
        {
            _writeTurn.Release();
        }
    }

    /// <summary>Called from one reader loop only.</summary>
    public Task ReadAsync(long id)
    {
        _read.Parameters["@id"].Value = id;
        _read.ExecuteScalar();
        return Task.CompletedTask;
    }

    private void Run(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private SqliteCommand Prepare(string sql, params string[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters)
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        command.Prepare();
        return command;
    }

    public void Dispose()
    {
        _insert.Dispose();
        _read.Dispose();
        _connection.Dispose();
        _writeTurn.Dispose();
    }
}
