namespace RaftSql.Simulation;

/// <summary>
/// A client bound to one node: one operation at a time through that node's gateway (an append, a bank
/// transfer, or a read at a random consistency), a short think time between them. Operations end when the
/// gateway answers; one in flight when its node crashes ends with an unknown outcome.
/// </summary>
internal sealed class SimClient(SimCluster cluster, int id, ulong nodeId, Random random, long workEnd)
{
    private static readonly ReadConsistency[] Levels =
        [ReadConsistency.Local, ReadConsistency.Session, ReadConsistency.Lease, ReadConsistency.Linearizable];

    private int _operation; // increments per operation: answers for an abandoned one are ignored
    private int _seq;
    private ulong _lastWriteIndex;
    private Action<Task>? _pending;

    public bool Done { get; private set; }

    public void Next()
    {
        if (cluster.Scheduler.Now >= workEnd)
        {
            Done = true;
            return;
        }
        if (cluster.Network.Running(nodeId) is not { } node)
        {
            cluster.Scheduler.After(50_000, Next);
            return;
        }
        var operation = ++_operation;
        var history = cluster.History;
        var roll = random.Next(10);
        if (roll < 4)
        {
            var seq = ++_seq;
            var write = history.InvokeAppend(id, seq, nodeId);
            Track(operation, node.Router.ExecuteAsync(SimCluster.Database, $"INSERT INTO appends VALUES ({id}, {seq})", [], CancellationToken.None),
                t => history.CompleteAppend(write, t, ref _lastWriteIndex));
        }
        else if (roll < 6)
        {
            var from = random.Next(1, 6);
            var to = random.Next(1, 6);
            var amount = random.Next(1, 30);
            var sql = $"UPDATE accounts SET balance = balance + CASE id WHEN {from} THEN -{amount} ELSE {amount} END WHERE id IN ({from}, {to}) AND {from} <> {to}";
            var transfer = history.InvokeTransfer(id, nodeId);
            Track(operation, node.Router.ExecuteAsync(SimCluster.Database, sql, [], CancellationToken.None),
                t => history.CompleteTransfer(transfer, t, ref _lastWriteIndex));
        }
        else
        {
            var level = Levels[random.Next(Levels.Length)];
            var read = history.InvokeRead(id, nodeId, node.Incarnation, level);
            Track(operation, node.Router.QueryAsync(SimCluster.Database,
                "SELECT 'a', id, balance FROM accounts UNION ALL SELECT 'x', client, seq FROM appends", [], level, _lastWriteIndex, CancellationToken.None),
                t => history.CompleteRead(read, t));
        }
    }

    private void Track(int operation, Task task, Action<Task> complete)
    {
        _pending = complete;
        cluster.Scheduler.WhenDone(task, done =>
        {
            if (operation != _operation || _pending is null)
                return; // abandoned when its node crashed
            _pending = null;
            complete(done);
            cluster.Scheduler.After(random.NextInt64(20_000), Next);
        });
    }

    /// <summary>The node went down under the operation in flight: its outcome is unknown; move on.</summary>
    public void NodeCrashed(ulong crashed)
    {
        if (crashed != nodeId || _pending is not { } complete)
            return;
        _pending = null;
        _operation++;
        complete(Task.FromException(new RaftSqlException(RaftSqlErrorCode.OutcomeUnknown, "The node crashed (simulated).")));
        cluster.Scheduler.After(50_000, Next);
    }
}
