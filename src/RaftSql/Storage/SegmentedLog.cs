using System.Buffers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace RaftSql.Storage;

/// <summary>
/// The durable Raft log: records in segment files named by their first index, an in-memory index of
/// (segment, offset, term) per record, and a <see cref="CompactionPoint"/> below which entries are gone.
/// <para>
/// Threading: one writer at a time (<see cref="Append"/>, <see cref="Sync"/>, <see cref="CompactBefore"/>,
/// <see cref="ResetTo"/>; a second concurrent writer gets <see cref="InvalidOperationException"/>); reads may
/// run on any thread concurrently with the writer. <see cref="Sync"/> fsyncs without blocking readers.
/// </para>
/// <para>
/// Durability: <see cref="Append"/> hands records to the OS; only <see cref="Sync"/> makes them durable
/// (one fsync per batch) and records how far it got in a <see cref="SyncedMark"/>. After an I/O error the log
/// refuses further use until reopened, because its in-memory index may no longer match the files; reopening cuts
/// a torn tail beyond the synced length and refuses damage within it.
/// </para>
/// </summary>
public sealed class SegmentedLog : IDisposable
{
    private const int WriteChunkBytes = 1 << 20;

    private readonly object _gate = new();
    private readonly IStorageFiles _files;
    private readonly List<Segment> _segments; // ascending by first index; the last one is the active segment
    private readonly string _pointPath;
    private readonly SyncedMark _synced;
    private readonly long _segmentBytes;
    private readonly ILogger _logger;
    private CompactionPoint _point;
    private ulong _lastIndex;
    private bool _directoryDirty;
    private bool _failed;
    private bool _disposed;
    private int _writerActive;

    private SegmentedLog(IStorageFiles files, string directory, List<Segment> segments, SyncedMark synced, CompactionPoint point, ulong lastIndex,
        long segmentBytes, ILogger logger)
    {
        _files = files;
        DirectoryPath = directory;
        _segments = segments;
        _synced = synced;
        _pointPath = Path.Combine(directory, CompactionPointFile.FileName);
        _point = point;
        _lastIndex = lastIndex;
        _segmentBytes = segmentBytes;
        _logger = logger;
    }

    public string DirectoryPath { get; }

    /// <summary>Index of the first entry the log holds (or would hold next when empty): compaction index + 1.</summary>
    public ulong FirstIndex
    {
        get
        {
            lock (_gate)
            {
                return _point.Index + 1;
            }
        }
    }

    /// <summary>Index of the last entry, or the compaction index when the log holds none.</summary>
    public ulong LastIndex
    {
        get
        {
            lock (_gate)
            {
                return _lastIndex;
            }
        }
    }

    public CompactionPoint CompactionPoint
    {
        get
        {
            lock (_gate)
            {
                return _point;
            }
        }
    }

    /// <summary>Opens (creating if needed) the log in <paramref name="directory"/>, repairing a torn tail.</summary>
    /// <exception cref="RaftSqlException">CorruptLog when the files are damaged beyond a torn tail.</exception>
    public static SegmentedLog Open(string directory, SegmentedLogOptions? options = null, ILogger? logger = null) =>
        Open(DiskFiles.Instance, directory, options, logger);

    /// <summary>As <see cref="Open(string, SegmentedLogOptions?, ILogger?)"/>, on the given files (a simulated disk in tests).</summary>
    internal static SegmentedLog Open(IStorageFiles files, string directory, SegmentedLogOptions? options = null, ILogger? logger = null)
    {
        options ??= new SegmentedLogOptions();
        if (options.SegmentBytes is < RecordFormat.HeaderSize or > SegmentedLogOptions.MaxSegmentBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.SegmentBytes,
                $"SegmentBytes must be between {RecordFormat.HeaderSize} and {SegmentedLogOptions.MaxSegmentBytes}.");
        }
        logger ??= NullLogger.Instance;
        directory = Path.GetFullPath(directory);
        files.CreateDirectory(directory);

        CompactionPoint point = CompactionPointFile.Load(files, Path.Combine(directory, CompactionPointFile.FileName));
        var synced = SyncedMark.Open(files, directory);
        List<Segment> segments;
        try
        {
            segments = LogRecovery.OpenSegments(files, directory, point, synced, logger);
        }
        catch
        {
            synced.Dispose();
            throw;
        }

        ulong lastIndex = segments.Count > 0 ? Math.Max(point.Index, segments[^1].LastIndex) : point.Index;
        var log = new SegmentedLog(files, directory, segments, synced, point, lastIndex, options.SegmentBytes, logger);
        try
        {
            log.MakeRecoveredDurable();
        }
        catch
        {
            log.Dispose();
            throw;
        }

        StorageLog.Opened(logger, directory, point.Index + 1, lastIndex, segments.Count);
        return log;
    }

    /// <summary>Term of the entry at <paramref name="index"/>, which may be the compaction index.</summary>
    public ulong Term(ulong index)
    {
        lock (_gate)
        {
            ThrowIfUnusable();
            return TermLocked(index);
        }
    }

    /// <summary>
    /// Entries from <paramref name="from"/> up to (not including) <paramref name="toExclusive"/>, stopping before the
    /// encoded size (25-byte header + payload) would exceed <paramref name="maxBytes"/>, but always at least one entry
    /// when the range is not empty. The range must lie within [<see cref="FirstIndex"/>, <see cref="LastIndex"/> + 1].
    /// Payloads of one call may share a buffer; each record's checksum is verified on the way.
    /// </summary>
    public IReadOnlyList<LogRecord> Read(ulong from, ulong toExclusive, long maxBytes)
    {
        lock (_gate)
        {
            ThrowIfUnusable();
            if (from <= _point.Index || from > toExclusive || toExclusive > _lastIndex + 1)
            {
                throw new ArgumentOutOfRangeException(nameof(from),
                    $"Range [{from}, {toExclusive}) is outside the log [{_point.Index + 1}, {_lastIndex + 1}).");
            }

            var records = new List<LogRecord>();
            long budget = maxBytes;
            ulong index = from;
            while (index < toExclusive)
            {
                Segment segment = SegmentHolding(index);
                ulong segmentEnd = Math.Min(toExclusive, segment.LastIndex + 1);
                int count = 0;
                long bytes = 0;
                while (index + (ulong)count < segmentEnd)
                {
                    int length = segment.EncodedLengthOf(index + (ulong)count);
                    if (length > budget - bytes && (records.Count > 0 || count > 0))
                    {
                        break;
                    }

                    bytes += length;
                    count++;
                }

                if (count == 0)
                {
                    break;
                }

                ReadRun(segment, index, count, bytes, records);
                index += (ulong)count;
                budget -= bytes;
                if (index < segmentEnd)
                {
                    break; // budget exhausted inside this segment
                }
            }

            return records;
        }
    }

    /// <summary>
    /// Writes contiguous records; if the first index is at or below <see cref="LastIndex"/>, the conflicting
    /// suffix from there on is removed first (Raft overwrite). Not durable until <see cref="Sync"/>.
    /// </summary>
    public void Append(IReadOnlyList<LogRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        using WriterScope _ = EnterWriter();
        if (records.Count == 0)
        {
            return;
        }

        lock (_gate)
        {
            ThrowIfUnusable();
            ValidateAppend(records);
            RunIo(() =>
            {
                if (records[0].Index <= _lastIndex)
                {
                    TruncateFrom(records[0].Index);
                }

                WriteRecords(records);
            });
        }
    }

    /// <summary>Makes everything appended so far durable: fsyncs the written segments and, if files came or went, the directory.</summary>
    public void Sync()
    {
        using WriterScope _ = EnterWriter();
        List<Segment> dirty;
        bool directoryDirty;
        SyncedPoint reached;
        lock (_gate)
        {
            ThrowIfUnusable();
            dirty = _segments.FindAll(s => s.Dirty);
            dirty.ForEach(s => s.Dirty = false);
            directoryDirty = _directoryDirty;
            _directoryDirty = false;
            reached = ActivePoint();
        }

        // Outside the lock so readers are not held up by the fsync; only this (single) writer can close handles.
        RunIo(() =>
        {
            foreach (Segment segment in dirty)
            {
                segment.File.Sync();
            }

            if (directoryDirty)
            {
                _files.SyncDirectory(DirectoryPath);
            }

            _synced.Record(reached);
        });
    }

    /// <summary>
    /// Compacts every entry below <paramref name="index"/>: the compaction point becomes (index - 1, its term,
    /// <paramref name="membership"/>) and <see cref="FirstIndex"/> becomes <paramref name="index"/>. Disk space is
    /// reclaimed by deleting whole segments below it (never the active one); entries a kept segment still holds
    /// below <paramref name="index"/> are simply no longer served. Asking for a point not above the current one does nothing.
    /// </summary>
    public void CompactBefore(ulong index, ReadOnlyMemory<byte> membership)
    {
        using WriterScope _ = EnterWriter();
        lock (_gate)
        {
            ThrowIfUnusable();
            if (index <= _point.Index + 1)
            {
                return;
            }

            ArgumentOutOfRangeException.ThrowIfGreaterThan(index, _lastIndex + 1);
            var point = new CompactionPoint(index - 1, TermLocked(index - 1), membership.ToArray());
            RunIo(() =>
            {
                // The point is durable before any segment goes, so a crash in between only leaves extra files.
                CompactionPointFile.Save(_files, _pointPath, point);
                _point = point;
                int deleted = 0;
                while (_segments.Count > 1 && _segments[0].LastIndex <= point.Index)
                {
                    _segments[0].Delete();
                    _segments.RemoveAt(0);
                    deleted++;
                }

                if (deleted > 0)
                {
                    _directoryDirty = true;
                    StorageLog.SegmentsDeleted(_logger, deleted, point.Index);
                }
            });
        }
    }

    /// <summary>
    /// For a snapshot install: the log becomes empty, continuing after <paramref name="snapshotIndex"/>, and the
    /// compaction point records the snapshot's index, term and membership. Durable when this returns.
    /// </summary>
    public void ResetTo(ulong snapshotIndex, ulong snapshotTerm, ReadOnlyMemory<byte> membership)
    {
        using WriterScope _ = EnterWriter();
        lock (_gate)
        {
            ThrowIfUnusable();
            ArgumentOutOfRangeException.ThrowIfLessThan(snapshotIndex, _point.Index);
            var point = new CompactionPoint(snapshotIndex, snapshotTerm, membership.ToArray());
            RunIo(() =>
            {
                // Point first, then segments newest first: whatever a crash leaves behind is a prefix of the old
                // log, which reopening reconciles with the point (see LogRecovery). The mark is forgotten only
                // once the point is durable: a crash before leaves the old log, whose synced records it must
                // keep vouching for (without it damage there would pass for a torn tail and be cut).
                CompactionPointFile.Save(_files, _pointPath, point);
                _synced.Clear();
                _point = point;
                for (int i = _segments.Count - 1; i >= 0; i--)
                {
                    _segments[i].Delete();
                }

                _segments.Clear();
                _lastIndex = snapshotIndex;
                _files.SyncDirectory(DirectoryPath);
                _directoryDirty = false;
            });
        }
    }

    /// <summary>
    /// Closes the files; call it once the writer has stopped. Records appended since the last <see cref="Sync"/>
    /// may or may not survive a crash (a clean process exit keeps them, as they are already in the OS).
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _segments.ForEach(s => s.Dispose());
            _synced.Dispose();
        }
    }

    private ulong TermLocked(ulong index)
    {
        if (index == _point.Index)
        {
            return _point.Term;
        }

        if (index < _point.Index || index > _lastIndex)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index,
                $"The log knows terms for [{_point.Index}, {_lastIndex}].");
        }

        return SegmentHolding(index).TermOf(index);
    }

    private void ValidateAppend(IReadOnlyList<LogRecord> records)
    {
        ulong first = records[0].Index;
        if (first <= _point.Index || first > _lastIndex + 1)
        {
            throw new ArgumentException(
                $"Appending at index {first} would leave a gap or overwrite compacted entries; the log spans [{_point.Index + 1}, {_lastIndex}].",
                nameof(records));
        }

        ulong previousTerm = TermLocked(first - 1);
        for (int i = 0; i < records.Count; i++)
        {
            LogRecord record = records[i];
            if (record.Index != first + (ulong)i)
            {
                throw new ArgumentException($"Record indexes must be contiguous: expected {first + (ulong)i}, got {record.Index}.", nameof(records));
            }

            if (record.Term < previousTerm)
            {
                throw new ArgumentException($"Record {record.Index} has term {record.Term}, below the previous entry's {previousTerm}.", nameof(records));
            }

            if (record.Payload.Length > LogRecord.MaxPayloadBytes)
            {
                throw new ArgumentException($"Record {record.Index} payload exceeds {LogRecord.MaxPayloadBytes} bytes.", nameof(records));
            }

            previousTerm = record.Term;
        }
    }

    /// <summary>
    /// Removes <paramref name="index"/> and everything after it, durably before anything new is written, so a
    /// crash can never mix the old suffix with the new one.
    /// </summary>
    /// <summary>Test hook: names each fsync of a cut ("directory", "segment") as it returns.</summary>
    internal Action<string>? DurabilityStep { get; set; }

    private void TruncateFrom(ulong index)
    {
        // The mark may vouch for bytes about to go; rewritten records must count as unsynced until the next Sync.
        _synced.Clear();
        bool deleted = false;
        while (_segments.Count > 0 && _segments[^1].FirstIndex > index)
        {
            _segments[^1].Delete();
            _segments.RemoveAt(_segments.Count - 1);
            deleted = true;
        }

        // Deletions durable before the cut of the kept segment: a power loss in between must never leave that
        // segment cut while a deleted one comes back after it (a gap, which recovery reports as corruption).
        if (deleted)
        {
            _files.SyncDirectory(DirectoryPath);
            DurabilityStep?.Invoke("directory");
        }

        if (_segments.Count > 0 && _segments[^1].Contains(index))
        {
            Segment segment = _segments[^1];
            segment.TruncateFrom(index);
            segment.File.Sync();
            DurabilityStep?.Invoke("segment");
            segment.Dirty = false;
            _synced.Record(ActivePoint()); // what is left of it was just made durable, and nothing after it exists
        }

        _lastIndex = index - 1;
    }

    private void WriteRecords(IReadOnlyList<LogRecord> records)
    {
        int next = 0;
        while (next < records.Count)
        {
            int firstSize = RecordFormat.EncodedSize(records[next].Payload.Length);
            Segment segment = ActiveSegmentFor(records[next].Index, firstSize);

            // One write per run of records that fits the segment and a bounded buffer (a single big record always goes).
            long room = Math.Min(_segmentBytes - segment.Length, WriteChunkBytes);
            int end = next + 1;
            int bytes = firstSize;
            while (end < records.Count && bytes + RecordFormat.EncodedSize(records[end].Payload.Length) <= room)
            {
                bytes += RecordFormat.EncodedSize(records[end].Payload.Length);
                end++;
            }

            byte[] buffer = ArrayPool<byte>.Shared.Rent(bytes);
            try
            {
                int position = 0;
                for (int i = next; i < end; i++)
                {
                    int size = RecordFormat.EncodedSize(records[i].Payload.Length);
                    RecordFormat.Encode(records[i], buffer.AsSpan(position, size));
                    position += size;
                }

                segment.File.Write(buffer.AsSpan(0, bytes), segment.Length);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            for (int i = next; i < end; i++)
            {
                segment.AddRecord(records[i].Term, RecordFormat.EncodedSize(records[i].Payload.Length));
            }

            segment.Dirty = true;
            _lastIndex = records[end - 1].Index;
            next = end;
        }
    }

    /// <summary>
    /// A killed process's unsynced writes outlive it in the page cache, where recovery finds them intact; from now on
    /// the log serves them as its own (a leader may count them as replicated here), so they are made durable first,
    /// with the directory entries of their files, and the mark vouches for them. Three fsyncs per open.
    /// </summary>
    private void MakeRecoveredDurable()
    {
        if (_segments.Count > 0)
        {
            _segments[^1].File.Sync();
        }

        _files.SyncDirectory(DirectoryPath);
        _synced.RecordDurably(ActivePoint());
    }

    private SyncedPoint ActivePoint() => _segments.Count > 0 ? new(_segments[^1].FirstIndex, _segments[^1].Length) : default;

    private Segment ActiveSegmentFor(ulong index, int recordSize)
    {
        if (_segments.Count > 0)
        {
            Segment active = _segments[^1];
            if (active.Length == 0 || active.Length + recordSize <= _segmentBytes)
            {
                return active;
            }

            // The full segment is made durable before its successor exists, so recovery never finds a torn
            // segment in the middle of the log after a crash.
            active.File.Sync();
            active.Dirty = false;
        }

        Segment segment = Segment.Create(_files, DirectoryPath, index);
        _segments.Add(segment);
        _directoryDirty = true;
        return segment;
    }

    private void ReadRun(Segment segment, ulong firstIndex, int count, long bytes, List<LogRecord> into)
    {
        var buffer = new byte[bytes];
        long fileOffset = segment.OffsetOf(firstIndex);
        int read = 0;
        while (read < buffer.Length)
        {
            int n = segment.File.Read(buffer.AsSpan(read), fileOffset + read);
            if (n == 0)
            {
                throw StorageErrors.Corrupt(segment.FilePath, fileOffset + read, "file is shorter than its index says");
            }

            read += n;
        }

        int position = 0;
        for (int i = 0; i < count; i++)
        {
            ulong index = firstIndex + (ulong)i;
            int length = segment.EncodedLengthOf(index);
            ReadOnlySpan<byte> encoded = buffer.AsSpan(position, length);
            if (RecordFormat.ReadStoredChecksum(encoded) != RecordFormat.Checksum(encoded) || RecordFormat.ReadIndex(encoded) != index)
            {
                throw StorageErrors.Corrupt(segment.FilePath, fileOffset + position, $"record {index} changed on disk since it was written");
            }

            into.Add(new LogRecord(index, RecordFormat.ReadTerm(encoded), RecordFormat.ReadType(encoded),
                buffer.AsMemory(position + RecordFormat.HeaderSize, length - RecordFormat.HeaderSize)));
            position += length;
        }
    }

    private Segment SegmentHolding(ulong index)
    {
        int low = 0;
        int high = _segments.Count - 1;
        while (low < high)
        {
            int middle = (low + high + 1) / 2;
            if (_segments[middle].FirstIndex <= index)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }

        return _segments[low];
    }

    private void RunIo(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _failed = true;
            throw;
        }
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failed)
        {
            throw new InvalidOperationException($"An earlier I/O error left the Raft log in {DirectoryPath} in an unknown state; reopen it.");
        }
    }

    private WriterScope EnterWriter()
    {
        if (Interlocked.Exchange(ref _writerActive, 1) != 0)
        {
            throw new InvalidOperationException("SegmentedLog allows one writer at a time (Append, Sync, CompactBefore, ResetTo).");
        }

        return new WriterScope(this);
    }

    private readonly struct WriterScope(SegmentedLog log) : IDisposable
    {
        public void Dispose() => Volatile.Write(ref log._writerActive, 0);
    }
}
