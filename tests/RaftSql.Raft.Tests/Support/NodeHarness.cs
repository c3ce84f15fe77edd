using RaftSql.Raft;

namespace RaftSql.Raft.Tests.Support;

/// <summary>A single core over a MemoryStorage, for tests that feed it hand-made messages.</summary>
internal sealed class NodeHarness
{
    public NodeHarness(ulong id, int voters, ulong term = 1, ulong vote = 0, ulong[]? extraTerms = null, Func<RaftConfig, RaftConfig>? configure = null)
    {
        var members = Enumerable.Range(1, voters).Select(i => new Member((ulong)i, MemberRole.Voter, $"node{i}")).ToList();
        Storage = MemoryStorage.Bootstrap(members);
        var first = Storage.LastIndex + 1;
        Storage.Append([.. (extraTerms ?? []).Select((t, i) => new Entry(t, first + (ulong)i, EntryType.Normal, Array.Empty<byte>()))]);
        Storage.SetHardState(new HardState(term, vote, (ulong)voters));
        var config = new RaftConfig { Id = id, Random = new SeededRandomSource(id) };
        Host = new TestHost(id, Storage, _ => (configure ?? (c => c))(config));
        Drain();
    }

    public MemoryStorage Storage { get; }

    public TestHost Host { get; }

    public RaftNode Node => Host.Raft;

    /// <summary>Steps a message and returns what the node sends in response.</summary>
    public List<Message> Step(Message m)
    {
        Node.Step(m);
        return Drain();
    }

    public List<Message> Tick(int times = 1)
    {
        var sent = new List<Message>();
        for (var i = 0; i < times; i++)
        {
            Node.Tick();
            sent.AddRange(Drain());
        }
        return sent;
    }

    public List<Message> Drain()
    {
        var sent = new List<Message>();
        while (Node.HasReady) sent.AddRange(Host.ProcessReady());
        return sent;
    }
}
