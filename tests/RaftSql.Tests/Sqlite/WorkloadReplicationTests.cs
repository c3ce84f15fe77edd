using Microsoft.Data.Sqlite;

namespace RaftSql.Tests.Sqlite;

public class WorkloadReplicationTests
{
    [Fact]
    public void Seeded_random_workload_gives_byte_identical_followers()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("RAFTSQL_SEED"), out var s) ? s : Environment.TickCount;
        try
        {
            RunWorkload(seed);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"Workload failed with seed {seed} (rerun with RAFTSQL_SEED={seed}).", e);
        }
    }

    private static void RunWorkload(int seed)
    {
        var random = new Random(seed);
        using var cluster = new TestCluster();
        using var connection = cluster.Leader.OpenConnection("work");
        var tables = new List<string>();
        var nextTable = 0;

        void Run(string sql, SqliteTransaction? tx = null, params (string, object)[] args)
        {
            using var command = connection.CreateCommand();
            command.Transaction = tx;
            command.CommandText = sql;
            foreach (var (name, value) in args)
            {
                command.Parameters.AddWithValue(name, value);
            }
            command.ExecuteNonQuery();
        }

        string NewTable()
        {
            var name = "t" + nextTable++;
            Run($"CREATE TABLE {name}(id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c BLOB)");
            tables.Add(name);
            return name;
        }

        NewTable();
        for (var step = 0; step < 120; step++)
        {
            var table = tables[random.Next(tables.Count)];
            switch (random.Next(12))
            {
                case 0:
                    NewTable();
                    break;
                case 1:
                    Run($"CREATE INDEX IF NOT EXISTS {table}_a{random.Next(3)} ON {table}(a)");
                    break;
                case 2 or 3 or 4:
                {
                    using var tx = connection.BeginTransaction();
                    for (var i = random.Next(1, 20); i > 0; i--)
                    {
                        var blob = new byte[random.Next(0, 3) == 0 ? random.Next(5000, 20000) : random.Next(0, 200)];
                        random.NextBytes(blob);
                        Run($"INSERT INTO {table}(a, b, c) VALUES ($a, $b, $c)", tx,
                            ("$a", random.Next(1000)), ("$b", new string('x', random.Next(300))), ("$c", blob));
                    }
                    tx.Commit();
                    break;
                }
                case 5:
                    Run($"UPDATE {table} SET a = a + $d, b = b || 'u' WHERE id % 3 = $m", null, ("$d", random.Next(10)), ("$m", random.Next(3)));
                    break;
                case 6:
                    Run($"DELETE FROM {table} WHERE id % 4 = $m", null, ("$m", random.Next(4)));
                    break;
                case 7:
                    if (tables.Count > 1)
                    {
                        Run($"DROP TABLE {table}");
                        tables.Remove(table);
                    }
                    break;
                case 8:
                    Run($"ALTER TABLE {table} ADD COLUMN x{step} TEXT DEFAULT 'd{step}'");
                    break;
                case 9:
                {
                    // A transaction larger than the page cache: SQLite spills frames before the commit.
                    Run("PRAGMA cache_size=16");
                    using var tx = connection.BeginTransaction();
                    for (var i = 0; i < 300; i++)
                    {
                        var blob = new byte[random.Next(500, 3000)];
                        random.NextBytes(blob);
                        Run($"INSERT INTO {table}(a, b, c) VALUES ($a, 'spill', $c)", tx, ("$a", i), ("$c", blob));
                    }
                    Run($"UPDATE {table} SET a = a + 1", tx);
                    tx.Commit();
                    Run("PRAGMA cache_size=-2000");
                    break;
                }
                case 10:
                    if (random.Next(4) == 0)
                    {
                        Run("VACUUM");
                    }
                    break;
                default:
                    Run($"ALTER TABLE {table} RENAME TO r{step}");
                    tables[tables.IndexOf(table)] = "r" + step;
                    break;
            }
        }
        Run("VACUUM");
        cluster.Execute("work", "INSERT INTO " + tables[0] + "(a) VALUES (1)");

        var files = cluster.CheckpointedFiles("work");
        Assert.True(files[0].Length > 4096);
        for (var i = 1; i < files.Count; i++)
        {
            Assert.True(files[0].AsSpan().SequenceEqual(files[i]), $"follower {i - 1} differs from the leader");
        }
    }

    [Fact]
    public void Nondeterministic_functions_read_back_identically_everywhere()
    {
        using var cluster = new TestCluster();
        cluster.Execute("nd", "CREATE TABLE r(x INTEGER, y BLOB, z TEXT)");
        for (var i = 0; i < 20; i++)
        {
            cluster.Execute("nd", "INSERT INTO r VALUES (random(), randomblob(16), datetime('now'))");
        }
        cluster.Log.WaitAllApplied();
        string Dump(RaftSql.Sqlite.ReplicationEngine node)
        {
            using var connection = node.OpenConnection("nd", readOnly: true);
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT group_concat(x || ':' || hex(y) || ':' || z, ',') FROM r";
            return (string)command.ExecuteScalar()!;
        }
        var leader = Dump(cluster.Leader);
        Assert.Equal(20, leader.Split(',').Length);
        foreach (var follower in cluster.Followers)
        {
            Assert.Equal(leader, Dump(follower));
        }
    }
}
