namespace RaftSql.Raft;

/// <summary>
/// The append messages sent to a follower and not yet acknowledged (the pipelining window): full at
/// <paramref name="capacity"/> messages or, when <paramref name="maxBytes"/> is set, at that many entry bytes.
/// </summary>
internal sealed class Inflights(int capacity, long maxBytes = 0)
{
    private readonly Queue<(ulong LastIndex, long Bytes)> _messages = new();
    private long _bytes;

    public int Count => _messages.Count;

    public bool Full => _messages.Count >= capacity || (maxBytes > 0 && _bytes >= maxBytes);

    public void Add(ulong lastIndex, long bytes = 0)
    {
        _messages.Enqueue((lastIndex, bytes));
        _bytes += bytes;
    }

    /// <summary>Frees every message whose entries are acknowledged up to <paramref name="index"/>.</summary>
    public void FreeUpTo(ulong index)
    {
        while (_messages.TryPeek(out var m) && m.LastIndex <= index)
        {
            _messages.Dequeue();
            _bytes -= m.Bytes;
        }
    }

    public void FreeFirst()
    {
        if (_messages.TryDequeue(out var m))
            _bytes -= m.Bytes;
    }

    public void Reset()
    {
        _messages.Clear();
        _bytes = 0;
    }
}
