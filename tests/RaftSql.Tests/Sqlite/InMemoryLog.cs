using RaftSql.Sqlite;

namespace RaftSql.Tests.Sqlite;

/// <summary>
/// A stand-in for the Raft log: local commits are appended as encoded entries and every attached
/// engine applies them strictly in order on its own thread, the way the Raft host's apply loop will.
/// </summary>
internal sealed class InMemoryLog : IFrameCommitter, IDisposable
{
    private readonly object _gate = new();
    private readonly List<byte[]> _entries = [];
    private readonly List<Applier> _appliers = [];
    private bool _stopped;
    private bool _held;

    /// <summary>While true, nothing more is committed (applied anywhere): entries only queue up.</summary>
    public bool Held
    {
        get
        {
            lock (_gate)
            {
                return _held;
            }
        }
        set
        {
            lock (_gate)
            {
                _held = value;
                Monitor.PulseAll(_gate);
            }
        }
    }

    private ulong _applyLimit = ulong.MaxValue;

    /// <summary>Entries after this index are not committed (applied anywhere) until it is raised.</summary>
    public ulong ApplyLimit
    {
        get
        {
            lock (_gate)
            {
                return _applyLimit;
            }
        }
        set
        {
            lock (_gate)
            {
                _applyLimit = value;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>The log's entries [from, to] (term 0), as the Raft host reads them again.</summary>
    public IEnumerable<(ulong Index, ulong Term, ReadOnlyMemory<byte> Data)> ReadLog(ulong from, ulong to)
    {
        for (var index = from; index <= to; index++)
        {
            yield return (index, 0, Entry(index));
        }
    }

    /// <summary>When set and returning an error, the next commits are refused with it (at admission).</summary>
    public Func<RaftSqlException?>? Refuse { get; set; }

    public ulong LastIndex
    {
        get
        {
            lock (_gate)
            {
                return (ulong)_entries.Count;
            }
        }
    }

    public byte[] Entry(ulong index)
    {
        lock (_gate)
        {
            return _entries[(int)index - 1];
        }
    }

    public void Admit(string database)
    {
        if (Refuse?.Invoke() is { } refusal)
        {
            throw refusal;
        }
    }

    /// <summary>What <see cref="IFrameCommitter.CommitLost"/> reported.</summary>
    public List<RaftSqlException> Lost { get; } = [];

    public void CommitLost(string database, RaftSqlException error)
    {
        lock (_gate)
        {
            Lost.Add(error);
        }
    }

    public void Propose(LocalCommit commit, byte[] entry, bool final)
    {
        lock (_gate)
        {
            _entries.Add(entry);
            commit.Proposed((ulong)_entries.Count, final);
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Starts applying every entry after <paramref name="appliedIndex"/> to <paramref name="engine"/>.</summary>
    public void Attach(ReplicationEngine engine, ulong appliedIndex = 0)
    {
        var applier = new Applier(this, engine, appliedIndex);
        lock (_gate)
        {
            _appliers.Add(applier);
        }
        applier.Thread.Start();
    }

    public void Detach(ReplicationEngine engine)
    {
        Applier applier;
        lock (_gate)
        {
            applier = _appliers.Single(a => a.Engine == engine);
            applier.Stopped = true;
            _appliers.Remove(applier);
            Monitor.PulseAll(_gate);
        }
        applier.Thread.Join();
    }

    /// <summary>Waits until every attached engine applied the whole log; rethrows an applier's failure.</summary>
    public void WaitAllApplied()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        lock (_gate)
        {
            while (true)
            {
                var failed = _appliers.FirstOrDefault(a => a.Failure != null);
                if (failed != null)
                {
                    throw new InvalidOperationException("Applier failed", failed.Failure);
                }
                if (_appliers.All(a => a.Applied >= (ulong)_entries.Count))
                {
                    return;
                }
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException("Appliers did not catch up.");
                }
                Monitor.Wait(_gate, 100);
            }
        }
    }

    public void Dispose()
    {
        List<Applier> appliers;
        lock (_gate)
        {
            _stopped = true;
            appliers = [.. _appliers];
            Monitor.PulseAll(_gate);
        }
        foreach (var applier in appliers)
        {
            applier.Thread.Join();
        }
    }

    private sealed class Applier
    {
        private readonly InMemoryLog _log;

        public Applier(InMemoryLog log, ReplicationEngine engine, ulong applied)
        {
            _log = log;
            Engine = engine;
            Applied = applied;
            Thread = new Thread(Run) { IsBackground = true, Name = "apply" };
        }

        public ReplicationEngine Engine { get; }
        public Thread Thread { get; }
        public ulong Applied;
        public bool Stopped;
        public Exception? Failure;

        private void Run()
        {
            while (true)
            {
                byte[] entry;
                ulong index;
                lock (_log._gate)
                {
                    while (!_log._stopped && !Stopped && (_log._held || (ulong)_log._entries.Count <= Applied || Applied >= _log._applyLimit))
                    {
                        Monitor.Wait(_log._gate);
                    }
                    if (_log._stopped || Stopped)
                    {
                        return;
                    }
                    index = Applied + 1;
                    entry = _log._entries[(int)index - 1];
                }
                try
                {
                    Engine.ApplyCommitted(index, entry);
                }
                catch (Exception e)
                {
                    lock (_log._gate)
                    {
                        Failure = e;
                        Monitor.PulseAll(_log._gate);
                    }
                    return;
                }
                lock (_log._gate)
                {
                    Applied = index;
                    Monitor.PulseAll(_log._gate);
                }
            }
        }
    }
}
