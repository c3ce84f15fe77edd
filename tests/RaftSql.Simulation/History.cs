namespace RaftSql.Simulation;

/// <summary>
/// What the clients did and saw, and the checks on it. Kept small on purpose: the tests/RaftSql.Histories
/// library (register linearizability, bank, sessions) replaces these inline checks once it lands.
/// </summary>
internal sealed class History(Trace trace)
{
    private readonly List<Append> _appends = [];
    private readonly List<Read> _reads = [];
    private readonly Dictionary<int, (HashSet<string> Rows, ReadConsistency Level, string At, int Incarnation)> _seen = [];
    private readonly Dictionary<int, (HashSet<string> Rows, ReadConsistency Level, string At, int Incarnation)> _seenHere = [];
    private readonly List<string> _anomalies = [];
    private long _time;

    public int Acknowledged => _appends.Count(a => a.State == Outcome.Acked);

    public int Reads => _reads.Count;


    public enum Outcome { Pending, Acked, Failed, Unknown }

    public sealed class Append(int client, int seq, long invoked)
    {
        public string Key { get; } = $"x|{client}|{seq}";
        public int Client { get; } = client;
        public long Invoked { get; } = invoked;
        public long Completed { get; set; } = long.MaxValue;
        public Outcome State { get; set; }
    }

    public sealed record Read(int Client, ulong Node, ReadConsistency Level, long Invoked, int Incarnation)
    {
        public long Completed { get; set; }
        public HashSet<string>? Rows { get; set; }
    }

    public sealed record Transfer(int Client, ulong Node);

    private long Tick() => ++_time; // a logical clock: invocations and completions in the order they happened

    public Append InvokeAppend(int client, int seq, ulong node)
    {
        var append = new Append(client, seq, Tick());
        _appends.Add(append);
        trace.Add($"c{client}@{node} append {seq}");
        return append;
    }

    public void CompleteAppend(Append append, Task task, ref ulong lastWriteIndex)
    {
        append.Completed = Tick();
        append.State = Classify(task, ref lastWriteIndex);
        trace.Add($"c{append.Client} append -> {append.State} {Error(task)}");
    }

    public Transfer InvokeTransfer(int client, ulong node)
    {
        trace.Add($"c{client}@{node} transfer");
        return new Transfer(client, node);
    }

    public void CompleteTransfer(Transfer transfer, Task task, ref ulong lastWriteIndex)
    {
        var outcome = Classify(task, ref lastWriteIndex);
        trace.Add($"c{transfer.Client} transfer -> {outcome} {Error(task)}");
    }

    public Read InvokeRead(int client, ulong node, int incarnation, ReadConsistency level)
    {
        var read = new Read(client, node, level, Tick(), incarnation);
        trace.Add($"c{client}@{node} read {level}");
        return read;
    }

    public void CompleteRead(Read read, Task task)
    {
        read.Completed = Tick();
        if (task is not Task<QueryResult> { IsCompletedSuccessfully: true } done)
        {
            trace.Add($"c{read.Client} read -> failed {Error(task)}");
            return;
        }
        read.Rows = [.. done.Result.Rows.Select(r => string.Join("|", r))];
        _reads.Add(read);
        trace.Add($"c{read.Client} read -> {read.Rows.Count} rows");
        var accounts = read.Rows.Where(r => r.StartsWith("a|", StringComparison.Ordinal)).ToList();
        var total = accounts.Sum(r => long.Parse(r.Split('|')[2], System.Globalization.CultureInfo.InvariantCulture));
        if (accounts.Count == 5 && total != 500)
            Anomaly($"bank: a {read.Level} read by client {read.Client} on node {read.Node} saw a total of {total}, not 500");
        // Appends are never undone, so what a client saw only grows: a Linearizable or Lease read holds every
        // append any earlier read of the client held (those saw committed states that came before it). A read
        // served by the client's node from its own files (Local, Session, Linearizable: never forwarded) holds
        // what earlier such reads there held: a node's applied state never goes back, not across a restart
        // either. A Lease read on a follower runs on the leader, ahead of the follower: it sets no floor for
        // the follower's Session and Local reads (Session promises read-your-writes, not monotonic reads).
        var appends = read.Rows.Where(r => r.StartsWith("x|", StringComparison.Ordinal)).ToHashSet();
        var key = read.Client;
        if (read.Level is ReadConsistency.Linearizable or ReadConsistency.Lease)
            CheckFloor(_seen, key, read, appends, "went back");
        if (read.Level != ReadConsistency.Lease)
            CheckFloor(_seenHere, key, read, appends, "went back on its node");
        Raise(_seen, key, read, appends);
        if (read.Level != ReadConsistency.Lease)
            Raise(_seenHere, key, read, appends);
    }

    private static RaftSqlErrorCode? Code(Task task) =>
        (task.Exception?.InnerException as RaftSqlException)?.Code;

    private static string Error(Task task) => task.Exception?.InnerException is { } e
        ? (e as RaftSqlException)?.Code.ToString() ?? e.GetType().Name + ": " + e.Message
        : "";

    private static Outcome Classify(Task task, ref ulong lastWriteIndex)
    {
        if (task is Task<ExecuteResult> { IsCompletedSuccessfully: true } done)
        {
            lastWriteIndex = Math.Max(lastWriteIndex, done.Result.RaftIndex);
            return Outcome.Acked;
        }
        // Only these say the write certainly did not run; everything else may have.
        return Code(task) is RaftSqlErrorCode.NotLeader or RaftSqlErrorCode.NoLeader or RaftSqlErrorCode.SqlError
            ? Outcome.Failed
            : Outcome.Unknown;
    }

    /// <summary>Real-time order: a linearizable (or lease) read sees every append acknowledged before it began;
    /// any read at Session or above sees its own client's; no read sees an append that certainly failed.</summary>
    public void CheckReads()
    {
        foreach (var read in _reads)
        {
            foreach (var append in _appends)
            {
                var visible = read.Rows!.Contains(append.Key);
                if (append.State == Outcome.Failed && visible)
                    _anomalies.Add($"failed write visible: {append.Key} in a {read.Level} read by client {read.Client} on node {read.Node}");
                if (visible || append.State != Outcome.Acked || append.Completed >= read.Invoked)
                    continue;
                if (read.Level is ReadConsistency.Linearizable or ReadConsistency.Lease)
                    _anomalies.Add($"stale {read.Level} read: client {read.Client} on node {read.Node} missed {append.Key}, acknowledged before the read began");
                else if (read.Level == ReadConsistency.Session && append.Client == read.Client)
                    _anomalies.Add($"session read missed its own write {append.Key} (client {read.Client}, node {read.Node})");
            }
        }
        ThrowIfAnomalies();
    }

    /// <summary>At the end: every acknowledged append is there, no failed one is.</summary>
    public void CheckFinal(ulong node, IReadOnlyCollection<string> content)
    {
        var rows = content.ToHashSet();
        foreach (var append in _appends)
        {
            if (append.State == Outcome.Acked && !rows.Contains(append.Key))
                _anomalies.Add($"acknowledged write lost: {append.Key} is not on node {node}");
            if (append.State == Outcome.Failed && rows.Contains(append.Key))
                _anomalies.Add($"failed write applied: {append.Key} is on node {node}");
        }
        var total = content.Where(r => r.StartsWith("a|", StringComparison.Ordinal)).Sum(r => long.Parse(r.Split('|')[2], System.Globalization.CultureInfo.InvariantCulture));
        if (total != 500)
            _anomalies.Add($"bank: node {node} ends with a total of {total}");
        ThrowIfAnomalies();
    }

    private void CheckFloor(Dictionary<int, (HashSet<string> Rows, ReadConsistency Level, string At, int Incarnation)> floors, int client, Read read,
        HashSet<string> appends, string what)
    {
        if (!floors.TryGetValue(client, out var before) || before.Rows.IsSubsetOf(appends))
            return;
        var text = $"{read.Level} read by client {client} on node {read.Node} {what} (after a {before.Level} read at {before.At}): lost {string.Join(",", before.Rows.Except(appends))}";
        Anomaly(text);
    }

    private void Raise(Dictionary<int, (HashSet<string> Rows, ReadConsistency Level, string At, int Incarnation)> floors, int client, Read read, HashSet<string> appends)
    {
        var rows = floors.TryGetValue(client, out var before) ? [.. before.Rows.Union(appends)] : appends;
        floors[client] = (rows, read.Level, trace.Now, read.Incarnation);
    }

    private void Anomaly(string text)
    {
        _anomalies.Add(text);
        trace.Add("ANOMALY " + text);
    }

    private void ThrowIfAnomalies()
    {
        if (_anomalies.Count > 0)
            throw new SimulationFailure($"{_anomalies.Count} anomalies; first: {string.Join("\n", _anomalies.Take(5))}");
    }
}
