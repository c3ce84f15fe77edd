using RaftSql.Raft;
using RaftSql.Storage;

namespace RaftSql.Hosting;

/// <summary>
/// The newest log entries, kept in memory up to a byte budget. The loop applies (and sends to peers) what it
/// persisted moments ago; without this it read each entry back from the segment and checked its checksum
/// again, and a batch read back in one buffer landed on the large-object heap (gen-2 collections under load).
/// Holds the same immutable <see cref="Entry"/> objects the core handed out, so it costs no copies.
/// </summary>
internal sealed class EntryCache(long maxBytes)
{
    private readonly object _gate = new();
    private readonly List<Entry> _entries = [];
    private int _head; // entries before it were evicted (their slots hold null until the list is compacted)
    private long _bytes;

    private int Count => _entries.Count - _head;

    /// <summary>Records entries just written to the log; an overlap replaces the cached suffix, as the log did.</summary>
    public void Append(IReadOnlyList<Entry> entries)
    {
        if (entries.Count == 0)
            return;
        lock (_gate)
        {
            var first = entries[0].Index;
            if (Count > 0 && first >= _entries[_head].Index && first <= _entries[^1].Index + 1)
                TruncateFrom(first);
            else
                ClearLocked();
            foreach (var entry in entries)
            {
                _entries.Add(entry);
                _bytes += SizeOf(entry);
            }
            while (_bytes > maxBytes && Count > 0)
            {
                _bytes -= SizeOf(_entries[_head]);
                _entries[_head++] = null!; // evicted: its payload must not stay reachable from here
            }
            if (_head > 1024 && _head > _entries.Count / 2)
            {
                _entries.RemoveRange(0, _head);
                _head = 0;
            }
        }
    }

    /// <summary>
    /// Entries [<paramref name="from"/>, <paramref name="toExclusive"/>) with the log's size rule (stop before the
    /// encoded size passes <paramref name="maxBytes"/>, at least one entry); false when the cache does not hold all of them.
    /// </summary>
    public bool TryRead(ulong from, ulong toExclusive, long maxBytes, out IReadOnlyList<Entry> result)
    {
        lock (_gate)
        {
            result = [];
            if (Count == 0 || from < _entries[_head].Index || toExclusive > _entries[^1].Index + 1 || from >= toExclusive)
                return false;
            var list = new List<Entry>((int)Math.Min(toExclusive - from, 64));
            long bytes = 0;
            for (var i = _head + (int)(from - _entries[_head].Index); i < _entries.Count && _entries[i].Index < toExclusive; i++)
            {
                var size = SizeOf(_entries[i]);
                if (size > maxBytes - bytes && list.Count > 0)
                    break;
                bytes += size;
                list.Add(_entries[i]);
            }
            result = list;
            return true;
        }
    }

    /// <summary>Forgets everything (the log was reset to a snapshot).</summary>
    public void Clear()
    {
        lock (_gate)
            ClearLocked();
    }

    private void ClearLocked()
    {
        _entries.Clear();
        _head = 0;
        _bytes = 0;
    }

    private void TruncateFrom(ulong index)
    {
        var at = _head + (int)(index - _entries[_head].Index);
        for (var i = at; i < _entries.Count; i++)
            _bytes -= SizeOf(_entries[i]);
        _entries.RemoveRange(at, _entries.Count - at);
    }

    private static long SizeOf(Entry entry) => RecordFormat.EncodedSize(entry.Data.Length);
}
