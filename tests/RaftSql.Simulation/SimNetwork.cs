using Google.Protobuf;
using RaftSql.Hosting;
using RaftSql.Protocol;
using RaftSql.Raft;

namespace RaftSql.Simulation;

/// <summary>
/// The simulated wire between nodes: every message is copied through its protobuf form, then dropped,
/// delayed (which reorders), duplicated, or blocked by a partition (symmetric or one-way), as the seed says.
/// </summary>
internal sealed class SimNetwork(SimScheduler scheduler, Random random, Trace trace)
{
    private readonly HashSet<(ulong From, ulong To)> _blocked = [];

    public Dictionary<ulong, SimNode> Nodes { get; } = [];

    public double DropRate { get; set; }

    public double DuplicateRate { get; set; }

    public long MinDelay { get; set; } = 200;

    public long MaxDelay { get; set; } = 5_000;

    public bool Blocked(ulong from, ulong to) => _blocked.Contains((from, to));

    public void Block(ulong from, ulong to) => _blocked.Add((from, to));

    public void Heal() => _blocked.Clear();

    public long Delay() => MinDelay + random.NextInt64(MaxDelay - MinDelay + 1);

    /// <summary>Whether a message from <paramref name="from"/> to <paramref name="to"/> is lost on the way.</summary>
    public bool Lost(ulong from, ulong to) => Blocked(from, to) || random.NextDouble() < DropRate;

    /// <summary>The running incarnation of <paramref name="id"/>, or null while it is down.</summary>
    public SimNode? Running(ulong id) => Nodes.TryGetValue(id, out var node) && node.IsUp ? node : null;

    public bool Send(SimNode from, Message message)
    {
        var to = message.To;
        if (Running(to) is null || Blocked(from.Id, to))
            return false; // a TCP sender sees the connection down
        var copies = random.NextDouble() < DuplicateRate ? 2 : 1;
        for (var i = 0; i < copies; i++)
        {
            if (Lost(from.Id, to))
            {
                trace.Add($"drop {from.Id}>{to} {message.Type} t{message.Term}");
                continue;
            }
            var wire = WireMapper.ToWire(message).ToByteArray();
            scheduler.After(Delay(), () => Deliver(from.Id, to, wire));
        }
        return true;
    }

    private void Deliver(ulong from, ulong to, byte[] wire)
    {
        if (Running(to) is not { } target || Blocked(from, to))
            return;
        var message = WireMapper.FromWire(RaftMessage.Parser.ParseFrom(wire));
        trace.Add($"recv {from}>{to} {message.Type} t{message.Term} i{message.Index} n{message.Entries.Count} c{message.Commit}");
        target.Host.Receive(message);
    }

    /// <summary>A snapshot stream: all of its data arrives at once, then its message, or nothing does.</summary>
    public void SendSnapshot(SimNode from, Message message, byte[] data)
    {
        var to = message.To;
        if (Running(to) is null || Lost(from.Id, to))
            throw new RaftSqlException(RaftSqlErrorCode.Unavailable, $"Node {to} is unreachable (simulated).");
        var wire = WireMapper.ToWire(message).ToByteArray();
        scheduler.After(Delay() * 4, () =>
        {
            if (Running(to) is not { } target || Blocked(from.Id, to))
                return;
            var copy = WireMapper.FromWire(RaftMessage.Parser.ParseFrom(wire));
            trace.Add($"snapshot {from.Id}>{to} i{copy.Snapshot!.Index} {data.Length}B");
            var chunk = new SnapshotChunk
            {
                SnapshotId = (ulong)scheduler.Now, Offset = 0, Data = ByteString.CopyFrom(data), Last = true,
                Metadata = WireMapper.ToWire(copy.Snapshot), From = from.Id, To = to, Term = copy.Term,
            };
            var staged = StagedSnapshot.Begin(target.SnapshotDirectory, chunk);
            staged.Append(chunk);
            target.Host.AcceptSnapshot(staged, copy);
        });
    }
}

/// <summary>One node incarnation's end of the simulated wire.</summary>
internal sealed class SimPeerTransport(SimNetwork network, SimNode self) : IPeerTransport
{
    public bool Send(Message message)
    {
        if (!self.IsUp)
            return false;
        var sent = network.Send(self, message);
        if (self.CrashAfterAppendsSent && message.Type == MessageType.Append && message.Entries.Count > 0)
        {
            self.CrashAfterAppendsSent = false;
            self.CrashPoint("after sending appends, before its own fsync");
        }
        return sent;
    }

    public void UpdateMembership(Membership membership)
    {
    }

    public string? AddressOf(ulong id) => $"sim:{id}";

    public void Learn(ulong id, string address)
    {
    }

    public Task SendSnapshotAsync(Message message, string path, CancellationToken cancellationToken)
    {
        network.SendSnapshot(self, message, File.ReadAllBytes(path));
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
