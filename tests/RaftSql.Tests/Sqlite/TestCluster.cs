using Microsoft.Data.Sqlite;
using RaftSql.Sqlite;

namespace RaftSql.Tests.Sqlite;

/// <summary>A leader engine and followers wired through an <see cref="InMemoryLog"/>, in a temp directory.</summary>
internal sealed class TestCluster : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "raftsql-wal-" + Guid.NewGuid().ToString("N"));
    private readonly List<ReplicationEngine> _engines = [];

    public TestCluster(int followers = 2, TimeSpan? maintenance = null)
    {
        Maintenance = maintenance ?? TimeSpan.FromMilliseconds(200);
        Leader = Start("leader", Log);
        for (var i = 0; i < followers; i++)
        {
            Followers.Add(Start($"follower{i}", committer: null));
        }
    }

    public TimeSpan Maintenance { get; }
    public InMemoryLog Log { get; } = new();
    public ReplicationEngine Leader { get; }
    public List<ReplicationEngine> Followers { get; } = [];
    public IEnumerable<ReplicationEngine> All => Followers.Prepend(Leader);

    public string Directory(string node) => Path.Combine(_root, node);

    public ReplicationEngine Start(string node, IFrameCommitter? committer, bool attach = true, TimeSpan? maintenance = null)
    {
        var engine = new ReplicationEngine(new EngineOptions
        {
            DataDirectory = Directory(node),
            Committer = committer,
            MaintenanceInterval = maintenance ?? Maintenance,
            CheckpointThresholdFrames = 200,
        });
        _engines.Add(engine);
        if (attach)
        {
            Log.Attach(engine, engine.DurableIndex());
        }
        return engine;
    }

    public void Execute(string database, string sql, params (string Name, object? Value)[] parameters)
    {
        using var connection = Leader.OpenConnection(database);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        command.ExecuteNonQuery();
    }

    public static T Scalar<T>(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)Convert.ChangeType(command.ExecuteScalar()!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Checkpoints every node with TRUNCATE and returns each node's database file bytes.</summary>
    public List<byte[]> CheckpointedFiles(string database)
    {
        Log.WaitAllApplied();
        var files = new List<byte[]>();
        foreach (var engine in All)
        {
            engine.Checkpoint(database, truncate: true);
            files.Add(engine.ReadDatabaseFile(database));
            using var connection = engine.OpenConnection(database, readOnly: true);
            Assert.Equal("ok", Scalar<string>(connection, "PRAGMA integrity_check"));
        }
        return files;
    }

    public void Dispose()
    {
        Log.Dispose();
        foreach (var engine in _engines)
        {
            engine.Dispose();
        }
        try
        {
            System.IO.Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp directory is harmless.
        }
    }
}
