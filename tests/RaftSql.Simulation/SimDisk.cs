using RaftSql.Storage;

namespace RaftSql.Simulation;

/// <summary>
/// One node's disk under its Raft log store, in memory. Each file keeps its durable content and the writes
/// since its last fsync; creations, renames and deletions stay pending until their directory is fsynced.
/// A crash is either a process kill (what was written stays in the page cache, unsynced) or a power loss: then a prefix of
/// the pending directory operations survives (a journaled file system keeps their order) and each pending
/// write is, by seeded choice, lost, kept, or torn at a 512-byte sector boundary.
/// Faults: a full disk (ENOSPC on writes, creations and fsyncs of written files) and a bit flip in one read
/// of a segment file (transient: the stored bytes stay right).
/// </summary>
internal sealed class SimDisk(Random random, DiskStats stats) : IStorageFiles
{
    public const int SectorBytes = 512;
    private const string SyncedMarkName = "synced";

    private readonly Dictionary<string, Inode> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Inode> _durableNames = new(StringComparer.Ordinal);
    private readonly List<DirectoryOp> _pendingOps = [];
    private readonly HashSet<string> _directories = new(StringComparer.Ordinal);
    private int _generation;

    /// <summary>While true, writes, creations and fsyncs of written files fail with ENOSPC.</summary>
    public bool Full { get; set; }

    /// <summary>Armed: the next read of a segment file returns one bit flipped.</summary>
    public bool FlipNextSegmentRead { get; set; }

    /// <summary>Armed (n &gt; 0): the machine loses power during the nth fsync from now (file or directory).</summary>
    public int PowerLossAtSync { get; set; }

    /// <summary>Set when an armed fsync was reached: the crash that follows is a power loss.</summary>
    public bool PowerLossPending { get; private set; }

    /// <summary>Throws the simulated crash of the node (its loop or its start dies there).</summary>
    public Action<string> CrashPoint { get; set; } = where => throw new InvalidOperationException(where);

    /// <summary>Bit flips returned since the last crash (a refusal to run or open is then expected).</summary>
    public int FlipsSinceCrash { get; private set; }

    /// <summary>
    /// After a crash: the log's synced mark covers every byte an fsync made durable in the last segment. It gets no
    /// fsync per batch and is cleared while records are cut, so after a crash it may fall short, and recovery then takes
    /// damage to the last synced records for a torn tail (a double fault the design leaves open); a bit flip during
    /// recovery is injected only while the mark covers them.
    /// </summary>
    public bool MarkCurrent { get; private set; } = true;

    /// <summary>Changes not yet durable (writes, length changes, directory operations).</summary>
    public int PendingChanges => _pendingOps.Count + _names.Values.Sum(i => i.Pending.Count);

    /// <summary>fsyncs of files and of directories so far (what the product pays per batch).</summary>
    public int FileSyncs { get; private set; }

    public int DirectorySyncs { get; private set; }

    /// <summary>Failed writes or fsyncs since the last crash.</summary>
    public int FullErrorsSinceCrash { get; private set; }

    public IStorageFile Open(string path, FileMode mode)
    {
        path = Path.GetFullPath(path);
        ThrowIfNoDirectory(path);
        if (_names.TryGetValue(path, out var inode))
        {
            if (mode == FileMode.CreateNew)
                throw new IOException($"The file '{path}' already exists.");
            var file = new SimFile(this, path, inode, _generation);
            if (mode is FileMode.Create or FileMode.Truncate)
                file.SetLength(0);
            return file;
        }
        if (mode is FileMode.Open or FileMode.Truncate)
            throw new FileNotFoundException($"Could not find file '{path}'.", path);
        ThrowIfFull(path);
        inode = new Inode();
        _names[path] = inode;
        _pendingOps.Add(new DirectoryOp(Path.GetDirectoryName(path)!, path, null, inode));
        return new SimFile(this, path, inode, _generation);
    }

    public bool Exists(string path) => _names.ContainsKey(Path.GetFullPath(path));

    public byte[] ReadAllBytes(string path)
    {
        path = Path.GetFullPath(path);
        if (!_names.TryGetValue(path, out var inode))
            throw new FileNotFoundException($"Could not find file '{path}'.", path);
        return inode.Current.ToArray();
    }

    public void Delete(string path)
    {
        path = Path.GetFullPath(path);
        if (_names.Remove(path))
            _pendingOps.Add(new DirectoryOp(Path.GetDirectoryName(path)!, path, null, null));
    }

    public void Replace(string source, string destination)
    {
        source = Path.GetFullPath(source);
        destination = Path.GetFullPath(destination);
        if (!_names.Remove(source, out var inode))
            throw new FileNotFoundException($"Could not find file '{source}'.", source);
        _names[destination] = inode;
        _pendingOps.Add(new DirectoryOp(Path.GetDirectoryName(destination)!, destination, source, inode));
    }

    public void CreateDirectory(string path) => _directories.Add(Path.GetFullPath(path));

    public void SyncDirectory(string path)
    {
        path = Path.GetFullPath(path);
        DirectorySyncs++;
        MaybeLosePower("during an fsync of its log directory");
        var kept = new List<DirectoryOp>();
        foreach (var op in _pendingOps)
        {
            if (op.Directory == path)
                op.ApplyTo(_durableNames);
            else
                kept.Add(op);
        }
        _pendingOps.Clear();
        _pendingOps.AddRange(kept);
    }

    public IEnumerable<string> EnumerateFiles(string directory)
    {
        directory = Path.GetFullPath(directory);
        return [.. _names.Keys.Where(p => Path.GetDirectoryName(p) == directory).Order(StringComparer.Ordinal)];
    }

    /// <summary>The log opened: a flip its recovery read was caught there (a refused open or a cut unsynced tail).</summary>
    public void Opened()
    {
        FlipNextSegmentRead = false;
        FlipsSinceCrash = 0;
    }

    public void Disarm()
    {
        Full = false;
        FlipNextSegmentRead = false;
        PowerLossAtSync = 0;
    }

    /// <summary>The machine dies: open files become unusable; what survives is decided now.</summary>
    public void Crash(bool powerLoss)
    {
        _generation++;
        PowerLossPending = false;
        Disarm();
        FlipsSinceCrash = 0;
        FullErrorsSinceCrash = 0;
        var lastSegment = _names.Keys.Where(p => p.EndsWith(".log", StringComparison.Ordinal)).Order(StringComparer.Ordinal).LastOrDefault();
        var syncedLength = lastSegment is null ? 0 : _names[lastSegment].Durable.Length;
        if (!powerLoss)
        {
            // The kernel outlives the process: what it wrote stays in the page cache, still unsynced.
            MarkCurrent = MarkCovers(lastSegment, syncedLength);
            return;
        }
        var survivingOps = powerLoss ? random.Next(_pendingOps.Count + 1) : _pendingOps.Count;
        for (var i = 0; i < survivingOps; i++)
            _pendingOps[i].ApplyTo(_durableNames);
        _pendingOps.Clear();
        _names.Clear();
        foreach (var (path, inode) in _durableNames.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            inode.Settle(powerLoss ? random : null, stats);
            _names[path] = inode;
        }
        MarkCurrent = MarkCovers(lastSegment, syncedLength);
    }

    /// <summary>True when the mark names <paramref name="lastSegment"/> with at least its synced length (or nothing needs it).</summary>
    private bool MarkCovers(string? lastSegment, long syncedLength)
    {
        if (lastSegment is null || syncedLength == 0)
            return true;
        var mark = _names.FirstOrDefault(e => Path.GetFileName(e.Key) == SyncedMarkName).Value?.Current.ToArray();
        if (mark is not { Length: >= 20 } || System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(mark) != 0x4D535352)
            return false;
        var segment = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(mark.AsSpan(4));
        var length = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(mark.AsSpan(12));
        return Segment.TryParseFileName(Path.GetFileName(lastSegment), out var first) && first == segment && length >= syncedLength;
    }

    private void MaybeLosePower(string where)
    {
        if (PowerLossAtSync > 0 && --PowerLossAtSync == 0)
        {
            PowerLossPending = true;
            CrashPoint(where);
        }
    }

    private void ThrowIfNoDirectory(string path)
    {
        if (!_directories.Contains(Path.GetDirectoryName(path)!))
            throw new DirectoryNotFoundException($"Could not find a part of the path '{path}'.");
    }

    private void ThrowIfFull(string path)
    {
        if (!Full)
            return;
        stats.DiskFull++;
        FullErrorsSinceCrash++;
        throw new SimDiskFullException(path);
    }

    private void NoteFlip()
    {
        FlipsSinceCrash++;
        stats.Flips++;
    }

    private sealed record DirectoryOp(string Directory, string Path, string? From, Inode? Inode)
    {
        public void ApplyTo(Dictionary<string, Inode> names)
        {
            if (From is not null)
                names.Remove(From);
            if (Inode is null)
                names.Remove(Path);
            else
                names[Path] = Inode;
        }
    }

    /// <summary>A file's bytes: what an fsync made durable, and what was done to it since.</summary>
    private sealed class Inode
    {
        public FileBytes Durable { get; private set; } = new();

        public FileBytes Current { get; private set; } = new();

        public List<(long Offset, byte[]? Data, long Length)> Pending { get; } = [];

        public void Sync()
        {
            foreach (var op in Pending)
                Durable.Apply(op.Offset, op.Data, op.Length);
            Pending.Clear();
        }

        /// <summary>After a crash: each pending change kept (no <paramref name="random"/>: all), lost or torn.</summary>
        public void Settle(Random? random, DiskStats stats)
        {
            foreach (var (offset, data, length) in Pending)
            {
                var choice = random?.Next(3) ?? 1;
                if (data is null || choice == 1)
                {
                    if (choice == 0)
                    {
                        stats.Lost++;
                        continue;
                    }
                    Durable.Apply(offset, data, length);
                    stats.Kept++;
                    continue;
                }
                if (choice == 0)
                {
                    stats.Lost++;
                    continue;
                }
                // Torn: the sectors up to a boundary inside the write reached the platter, the rest did not.
                // A write inside one sector has no boundary to tear at: sectors are written whole, so it is lost.
                var firstBoundary = (offset / SectorBytes + 1) * SectorBytes;
                var end = offset + data.Length;
                if (firstBoundary >= end)
                {
                    stats.Lost++;
                    continue;
                }
                var cut = firstBoundary + random!.NextInt64((end - 1 - firstBoundary) / SectorBytes + 1) * SectorBytes;
                Durable.Apply(offset, data.AsSpan(0, (int)(cut - offset)).ToArray(), 0);
                stats.Torn++;
            }
            Pending.Clear();
            Current = Durable.Clone();
        }
    }

    private sealed class SimFile(SimDisk disk, string path, Inode inode, int generation) : IStorageFile
    {
        private bool _closed;

        public long Length
        {
            get
            {
                ThrowIfDead();
                return inode.Current.Length;
            }
        }

        public int Read(Span<byte> buffer, long offset)
        {
            ThrowIfDead();
            var read = inode.Current.Read(buffer, offset);
            if (read > 0 && disk.FlipNextSegmentRead && path.EndsWith(".log", StringComparison.Ordinal))
            {
                disk.FlipNextSegmentRead = false;
                var bit = disk.RandomBit(read);
                buffer[(int)(bit / 8)] ^= (byte)(1 << (int)(bit % 8));
                disk.NoteFlip();
            }
            return read;
        }

        public void Write(ReadOnlySpan<byte> buffer, long offset)
        {
            ThrowIfDead();
            disk.ThrowIfFull(path);
            var data = buffer.ToArray();
            inode.Current.Apply(offset, data, 0);
            inode.Pending.Add((offset, data, 0));
        }

        public void SetLength(long length)
        {
            ThrowIfDead();
            inode.Current.Apply(0, null, length);
            inode.Pending.Add((0, null, length));
        }

        public void Sync()
        {
            ThrowIfDead();
            disk.FileSyncs++;
            disk.MaybeLosePower($"during an fsync of {Path.GetFileName(path)}");
            if (inode.Pending.Count > 0)
                disk.ThrowIfFull(path);
            inode.Sync();
        }

        public void Dispose() => _closed = true;

        private void ThrowIfDead()
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            if (generation != disk._generation)
                throw new IOException($"'{path}' was open in a process that crashed.");
        }
    }

    private long RandomBit(int bytes) => random.NextInt64((long)bytes * 8);
}

/// <summary>ENOSPC from the simulated disk.</summary>
internal sealed class SimDiskFullException(string path) : IOException($"No space left on device : '{path}'", 28);

/// <summary>The disk faults of one seed, for the summary line.</summary>
internal sealed class DiskStats
{
    public int Lost { get; set; }

    public int Torn { get; set; }

    public int Kept { get; set; }

    public int DiskFull { get; set; }

    public int Flips { get; set; }

    public int PowerLosses { get; set; }
}
