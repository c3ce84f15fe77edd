using System.Diagnostics;
using Microsoft.Data.Sqlite;
using RaftSql.Sqlite;

// Measures the replicating VFS against plain Microsoft.Data.Sqlite (default VFS) in the same process,
// on the same disk, with the same settings (WAL, synchronous=NORMAL). Figures are printed, not asserted.
const int Inserts = 10_000;
const int Selects = 200_000;
const int Rounds = 3;

var root = Path.Combine(Path.GetTempPath(), "raftsql-bench-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(root);
try
{
    var plainInsert = 0.0;
    var vfsInsert = 0.0;
    var plainSelect = 0.0;
    var vfsSelect = 0.0;
    List<byte[]> log = [];
    for (var round = 0; round < Rounds; round++)
    {
        using (var plain = OpenPlain(Path.Combine(root, $"plain{round}.db")))
        {
            plainInsert = Math.Max(plainInsert, InsertRate(plain));
            plainSelect = Math.Max(plainSelect, SelectRate(plain));
        }
        var committer = new AlwaysCommit();
        using var engine = new ReplicationEngine(new EngineOptions
        {
            DataDirectory = Path.Combine(root, $"leader{round}"),
            Committer = committer,
            MaintenanceInterval = TimeSpan.Zero,
        });
        committer.Engine = engine;
        using (var replicated = engine.OpenConnection("bench"))
        {
            vfsInsert = Math.Max(vfsInsert, InsertRate(replicated));
            vfsSelect = Math.Max(vfsSelect, SelectRate(replicated));
        }
        log = committer.Entries;
    }

    Console.WriteLine($"single-row INSERT tx/s   plain {plainInsert,10:N0}   VFS {vfsInsert,10:N0}   ratio {vfsInsert / plainInsert:P1}");
    Console.WriteLine($"point SELECT/s           plain {plainSelect,10:N0}   VFS {vfsSelect,10:N0}   ratio {vfsSelect / plainSelect:P1}");

    // Follower apply: the leader's last run, as encoded Raft entries, applied to a fresh node.
    var bytes = log.Sum(e => (long)e.Length);
    var best = double.MaxValue;
    for (var round = 0; round < Rounds; round++)
    {
        using var follower = new ReplicationEngine(new EngineOptions { DataDirectory = Path.Combine(root, $"follower{round}") });
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < log.Count; i++)
        {
            follower.ApplyCommitted((ulong)i + 1, log[i]);
        }
        best = Math.Min(best, clock.Elapsed.TotalSeconds);
    }
    Console.WriteLine($"follower apply           {log.Count / best,10:N0} tx/s   {bytes / best / 1e6,8:N1} MB/s   ({log.Count} entries, {bytes / 1e6:N1} MB)");
}
finally
{
    Directory.Delete(root, recursive: true);
}

static SqliteConnection OpenPlain(string path)
{
    var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
    connection.Open();
    using var command = connection.CreateCommand();
    command.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL";
    command.ExecuteNonQuery();
    return connection;
}

static double InsertRate(SqliteConnection connection)
{
    using (var create = connection.CreateCommand())
    {
        create.CommandText = "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL)";
        create.ExecuteNonQuery();
    }
    using var insert = connection.CreateCommand();
    insert.CommandText = "INSERT INTO t(v) VALUES ($v)";
    var value = insert.Parameters.Add("$v", SqliteType.Text);
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < Inserts; i++)
    {
        value.Value = "value number " + i;
        insert.ExecuteNonQuery();
    }
    return Inserts / clock.Elapsed.TotalSeconds;
}

static double SelectRate(SqliteConnection connection)
{
    using var select = connection.CreateCommand();
    select.CommandText = "SELECT v FROM t WHERE id = $id";
    var id = select.Parameters.Add("$id", SqliteType.Integer);
    var random = new Random(1);
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < Selects; i++)
    {
        id.Value = random.Next(1, Inserts + 1);
        select.ExecuteScalar();
    }
    return Selects / clock.Elapsed.TotalSeconds;
}

/// <summary>Commits every local transaction at once and keeps its entry for the follower measurement.</summary>
internal sealed class AlwaysCommit : IFrameCommitter
{
    public List<byte[]> Entries { get; } = [];

    /// <summary>The leader's engine: each entry is applied (committed) as soon as it is proposed.</summary>
    public ReplicationEngine? Engine { get; set; }

    public void Admit(string database)
    {
    }

    public void Propose(LocalCommit commit, byte[] entry, bool final)
    {
        Entries.Add(entry);
        var index = (ulong)Entries.Count;
        commit.Proposed(index, final);
        Engine?.ApplyCommitted(index, 0, entry);
    }
}
