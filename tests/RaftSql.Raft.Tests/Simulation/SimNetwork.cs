namespace RaftSql.Raft.Tests.Simulation;

/// <summary>The simulated network's fault settings: loss, duplication, delay (hence reordering) and cut links.</summary>
internal sealed class SimNetwork
{
    private readonly HashSet<(ulong From, ulong To)> _blocked = [];

    public int DropPercent { get; set; }

    public int DuplicatePercent { get; set; }

    /// <summary>Each message takes 1..MaxDelayMs; independent delays reorder messages.</summary>
    public int MaxDelayMs { get; set; } = 5;

    public bool IsBlocked(ulong from, ulong to) => _blocked.Contains((from, to));

    /// <summary>Asymmetric cut: from can no longer reach to.</summary>
    public void Block(ulong from, ulong to) => _blocked.Add((from, to));

    /// <summary>Symmetric partition between two groups.</summary>
    public void Partition(IReadOnlyList<ulong> a, IReadOnlyList<ulong> b)
    {
        foreach (var x in a)
            foreach (var y in b)
            {
                _blocked.Add((x, y));
                _blocked.Add((y, x));
            }
    }

    public void HealPartitions() => _blocked.Clear();

    public void Calm()
    {
        HealPartitions();
        DropPercent = 0;
        DuplicatePercent = 0;
        MaxDelayMs = 5;
    }
}
