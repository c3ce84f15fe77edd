namespace RaftSql.Tests.Sqlite;

public class FollowerReadTests
{
    [Fact]
    public void Follower_readers_never_see_half_a_transaction()
    {
        const int accounts = 50;
        const long initial = 1000;
        using var cluster = new TestCluster(followers: 1);
        cluster.Execute("bank", "CREATE TABLE account(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)");
        cluster.Execute("bank", $"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {accounts}) INSERT INTO account SELECT i, {initial} FROM n");
        cluster.Log.WaitAllApplied();

        var follower = cluster.Followers[0];
        var writesDone = 0;
        var reads = 0;
        var violations = new List<string>();
        var reader = new Thread(() =>
        {
            using var connection = follower.OpenConnection("bank", readOnly: true);
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*), sum(balance) FROM account";
            while (Volatile.Read(ref writesDone) == 0 || reads < 5000)
            {
                using var row = command.ExecuteReader();
                row.Read();
                if (row.GetInt64(0) != accounts || row.GetInt64(1) != accounts * initial)
                {
                    violations.Add($"{row.GetInt64(0)} accounts, total {row.GetInt64(1)}");
                }
                reads++;
            }
        });
        reader.Start();

        var random = new Random(7);
        using (var connection = cluster.Leader.OpenConnection("bank"))
        {
            for (var i = 0; i < 1500; i++)
            {
                using var tx = connection.BeginTransaction();
                using var command = connection.CreateCommand();
                command.Transaction = tx;
                command.CommandText = "UPDATE account SET balance = balance - $n WHERE id = $a; UPDATE account SET balance = balance + $n WHERE id = $b";
                command.Parameters.AddWithValue("$n", random.Next(1, 100));
                command.Parameters.AddWithValue("$a", random.Next(1, accounts + 1));
                command.Parameters.AddWithValue("$b", random.Next(1, accounts + 1));
                command.ExecuteNonQuery();
                tx.Commit();
            }
        }
        cluster.Log.WaitAllApplied();
        Volatile.Write(ref writesDone, 1);
        Assert.True(reader.Join(TimeSpan.FromMinutes(2)), "reader did not finish");
        Assert.Empty(violations);
        Assert.True(reads >= 5000);
        var files = cluster.CheckpointedFiles("bank");
        Assert.True(files[0].AsSpan().SequenceEqual(files[1]));
    }
}
