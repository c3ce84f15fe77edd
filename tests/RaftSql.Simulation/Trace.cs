using System.Text;

namespace RaftSql.Simulation;

/// <summary>The events of one seed: hashed (two runs of a seed must hash alike) and the last few kept
/// for a failure's message (or all of them when asked).</summary>
internal sealed class Trace(SimScheduler scheduler, bool keepAll)
{
    private readonly Queue<string> _recent = new();
    private readonly List<string> _all = [];
    private ulong _hash = 14695981039346656037;

    public ulong Hash => _hash;

    public long Count { get; private set; }

    public void Add(string text)
    {
        var line = $"{scheduler.Now / 1000.0:F3}ms {text}";
        foreach (var b in Encoding.UTF8.GetBytes(line))
            _hash = (_hash ^ b) * 1099511628211;
        _hash = (_hash ^ '\n') * 1099511628211;
        Count++;
        if (keepAll)
            _all.Add(line);
        _recent.Enqueue(line);
        if (_recent.Count > 60)
            _recent.Dequeue();
    }

    public string Now => $"{scheduler.Now / 1000.0:F3}ms";

    public string Recent => string.Join("\n", _recent);

    public IReadOnlyList<string> All => _all;
}
