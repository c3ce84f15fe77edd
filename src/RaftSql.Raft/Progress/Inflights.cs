namespace RaftSql.Raft;

/// <summary>The last indexes of append messages sent to a follower and not yet acknowledged (the pipelining window).</summary>
internal sealed class Inflights(int capacity)
{
    private readonly Queue<ulong> _lastIndexes = new();

    public int Count => _lastIndexes.Count;

    public bool Full => _lastIndexes.Count >= capacity;

    public void Add(ulong lastIndex) => _lastIndexes.Enqueue(lastIndex);

    /// <summary>Frees every message whose entries are acknowledged up to <paramref name="index"/>.</summary>
    public void FreeUpTo(ulong index)
    {
        while (_lastIndexes.TryPeek(out var i) && i <= index) _lastIndexes.Dequeue();
    }

    public void FreeFirst() => _lastIndexes.TryDequeue(out _);

    public void Reset() => _lastIndexes.Clear();
}
