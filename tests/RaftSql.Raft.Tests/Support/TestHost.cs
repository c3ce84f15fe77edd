using RaftSql.Raft;

namespace RaftSql.Raft.Tests.Support;

/// <summary>
/// A minimal host for one member: persists Ready work to a MemoryStorage, applies committed entries to an
/// in-memory list and keeps the snapshots it made or received. Shared by the table tests and the simulator.
/// </summary>
internal sealed class TestHost
{
    private readonly Func<ulong, RaftConfig> _configFor;

    public TestHost(ulong id, MemoryStorage storage, Func<ulong, RaftConfig> configFor)
    {
        Id = id;
        Storage = storage;
        _configFor = configFor;
        Start();
    }

    public ulong Id { get; }

    public MemoryStorage Storage { get; }

    /// <summary>The running core, or null while crashed.</summary>
    public RaftNode? Node { get; private set; }

    public RaftNode Raft => Node ?? throw new InvalidOperationException($"Node {Id} is down.");

    public int Incarnation { get; private set; }

    /// <summary>Applied normal, non-empty entries: the state machine. Survives crashes (it is "on disk").</summary>
    public List<Entry> StateMachine { get; private set; } = [];

    public ulong AppliedIndex { get; private set; }

    public List<ReadState> ReadStates { get; } = [];

    public List<Entry> AppliedConfChanges { get; } = [];

    /// <summary>Snapshot data by index: local ones (compaction) and ones received from a leader.</summary>
    public Dictionary<ulong, List<Entry>> SnapshotData { get; } = [];

    public bool IsUp => Node is not null;

    public void Start()
    {
        Node = new RaftNode(_configFor(Id), Storage, AppliedIndex);
        Incarnation++;
    }

    public void Crash()
    {
        Node = null; // everything not persisted through a Ready is lost
        _outstanding = null;
    }

    private Ready? _outstanding;

    /// <summary>A Ready was persisted and sent but not yet applied and advanced.</summary>
    public bool HasOutstandingReady => _outstanding is not null;

    /// <summary>Processes one Ready the way a real host must: persist, then send, then apply.</summary>
    public IReadOnlyList<Message> ProcessReady(IHostObserver? observer = null)
    {
        var messages = PersistReady(observer);
        if (_outstanding is not null) ApplyReady(observer);
        return messages;
    }

    /// <summary>First half of a Ready: install the snapshot, persist, and return the messages to send.</summary>
    public IReadOnlyList<Message> PersistReady(IHostObserver? observer = null)
    {
        var node = Raft;
        if (_outstanding is not null || !node.HasReady) return [];
        var ready = node.GetReady();
        _outstanding = ready;
        if (ready.Snapshot is { } snapshot)
        {
            Storage.ApplySnapshot(snapshot);
            StateMachine = [.. SnapshotData[snapshot.Index]];
            AppliedIndex = snapshot.Index;
            observer?.OnSnapshotInstalled(this, snapshot);
        }
        Storage.Append(ready.Entries);
        if (ready.HardState is { } hardState) Storage.SetHardState(hardState);
        observer?.OnPersisted(this, ready.Entries);
        return ready.Messages;
    }

    /// <summary>Second half: apply the committed entries, serve the reads, and Advance.</summary>
    public void ApplyReady(IHostObserver? observer = null)
    {
        var ready = _outstanding ?? throw new InvalidOperationException("No Ready is outstanding.");
        _outstanding = null;
        foreach (var e in ready.CommittedEntries)
        {
            if (e.Index <= AppliedIndex) continue;
            if (e.Index != AppliedIndex + 1) throw new InvalidOperationException($"Node {Id} applies {e.Index} after {AppliedIndex}.");
            AppliedIndex = e.Index;
            if (e.Type == EntryType.ConfChange) AppliedConfChanges.Add(e);
            else if (e.Data.Length > 0) StateMachine.Add(e);
            observer?.OnApplied(this, e);
        }
        ReadStates.AddRange(ready.ReadStates);
        foreach (var read in ready.ReadStates) observer?.OnReadState(this, read);
        Raft.Advance(ready);
    }

    /// <summary>Takes a local snapshot at the applied index and compacts the log up to it.</summary>
    public void Compact()
    {
        var node = Raft;
        if (_outstanding is not null || node.HasReady || AppliedIndex <= Storage.Snapshot().Index) return;
        SnapshotData[AppliedIndex] = [.. StateMachine];
        Storage.Compact(AppliedIndex, node.Status.Membership);
    }

    /// <summary>The snapshot data to stream with a Snapshot message from this host.</summary>
    public List<Entry> SnapshotFor(SnapshotMetadata metadata) => SnapshotData[metadata.Index];
}

/// <summary>Lets a checker watch what a host persists, installs and applies.</summary>
internal interface IHostObserver
{
    void OnSnapshotInstalled(TestHost host, SnapshotMetadata snapshot);

    void OnPersisted(TestHost host, IReadOnlyList<Entry> entries);

    void OnApplied(TestHost host, Entry entry);

    void OnReadState(TestHost host, ReadState read);
}
