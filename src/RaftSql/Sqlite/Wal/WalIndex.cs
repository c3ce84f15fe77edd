using System.Runtime.InteropServices;
using RaftSql.Sqlite.Native;

namespace RaftSql.Sqlite.Wal;

/// <summary>
/// The WAL-index ("shm") of one database, kept in process memory: 32 KiB regions allocated natively
/// and page aligned, alive as long as the engine. Region 0 starts with two header copies and the
/// checkpoint info (136 bytes); after that every region is an array of page numbers (one per frame)
/// followed by an 8192-slot hash table of 16-bit frame indexes (wal.c, walHashGet/walIndexAppend).
/// </summary>
internal sealed unsafe class WalIndex : IDisposable
{
    public const int RegionSize = 32768;
    public const int HeaderBytes = 2 * WalIndexHeader.Size + 40;
    private const int PagesPerRegion = 4096;
    private const int PagesInFirstRegion = PagesPerRegion - HeaderBytes / 4;
    private const int HashSlots = 2 * PagesPerRegion;
    private const int HashMultiplier = 383;

    private readonly List<IntPtr> _regions = [];
    private readonly object _gate = new();
    private int _mappedClients;
    private IntPtr _region0; // region 0 stays put until Dispose; every read transaction looks at its header

    public ShmLockTable Locks { get; } = new();

    /// <summary>xShmMap: the address of region <paramref name="index"/>, allocating it when asked to.</summary>
    public byte* Map(int index, bool extend)
    {
        lock (_gate)
        {
            while (_regions.Count <= index)
            {
                if (!extend)
                {
                    return null;
                }
                var region = NativeMemory.AlignedAlloc(RegionSize, 4096);
                NativeMemory.Clear(region, RegionSize);
                _regions.Add((IntPtr)region);
            }
            if (index == 0)
            {
                Volatile.Write(ref _region0, _regions[0]);
            }
            return (byte*)_regions[index];
        }
    }

    public void AddClient()
    {
        lock (_gate)
        {
            _mappedClients++;
        }
    }

    /// <summary>When the last connection unmaps, the index is forgotten (like deleting a -shm file):
    /// the next opener rebuilds it from the WAL file, which is always correct.</summary>
    public void RemoveClient()
    {
        lock (_gate)
        {
            if (--_mappedClients == 0)
            {
                foreach (var region in _regions)
                {
                    NativeMemory.Clear((void*)region, RegionSize);
                }
            }
        }
    }

    public int MappedClients
    {
        get
        {
            lock (_gate)
            {
                return _mappedClients;
            }
        }
    }

    private byte* Region0
    {
        get
        {
            var region = Volatile.Read(ref _region0);
            return region != IntPtr.Zero ? (byte*)region : Map(0, extend: true);
        }
    }

    public WalCheckpointInfo* CheckpointInfo => (WalCheckpointInfo*)(Region0 + 2 * WalIndexHeader.Size);

    /// <summary>Reads the header the way a reader does: both copies equal and the checksum right, else null.</summary>
    public WalIndexHeader? ReadHeader()
    {
        var first = Region0;
        var copy1 = *(WalIndexHeader*)first;
        Interlocked.MemoryBarrier();
        var copy2 = *(WalIndexHeader*)(first + WalIndexHeader.Size);
        if (copy1.IsInit == 0 || !new ReadOnlySpan<byte>(&copy1, WalIndexHeader.Size).SequenceEqual(new ReadOnlySpan<byte>(&copy2, WalIndexHeader.Size)))
        {
            return null;
        }
        uint s1 = 0, s2 = 0;
        WalFormat.Checksum(new ReadOnlySpan<byte>(&copy1, 40), ref s1, ref s2);
        return s1 == copy1.HeaderChecksum1 && s2 == copy1.HeaderChecksum2 ? copy1 : null;
    }

    /// <summary>The current max frame, read without validation (for capture bookkeeping under the write lock).</summary>
    public uint PublishedMaxFrame => Volatile.Read(ref ((WalIndexHeader*)Region0)->MaxFrame);

    public uint PublishedChange => Volatile.Read(ref ((WalIndexHeader*)Region0)->Change);

    public uint PublishedSalt1 => Volatile.Read(ref ((WalIndexHeader*)Region0)->Salt1);

    public int PublishedPageSize => ((WalIndexHeader*)Region0)->PageSize;

    /// <summary>walIndexWriteHdr: checksum, copy 2, barrier, copy 1, so a reader never accepts a torn header.</summary>
    public void WriteHeader(ref WalIndexHeader header)
    {
        header.IsInit = 1;
        header.Version = WalIndexHeader.CurrentVersion;
        uint s1 = 0, s2 = 0;
        fixed (WalIndexHeader* h = &header)
        {
            WalFormat.Checksum(new ReadOnlySpan<byte>(h, 40), ref s1, ref s2);
        }
        header.HeaderChecksum1 = s1;
        header.HeaderChecksum2 = s2;
        var first = Region0;
        *(WalIndexHeader*)(first + WalIndexHeader.Size) = header;
        Interlocked.MemoryBarrier();
        *(WalIndexHeader*)first = header;
        Interlocked.MemoryBarrier();
    }

    /// <summary>walRestartHdr: publishes <paramref name="header"/> (max frame 0) and resets the checkpoint info, so
    /// the next frame is frame 1 of a new WAL generation. The caller holds the write lock and read slots 1-4.</summary>
    public void Restart(ref WalIndexHeader header)
    {
        WriteHeader(ref header);
        var info = CheckpointInfo;
        Volatile.Write(ref info->Backfill, 0);
        info->BackfillAttempted = 0;
        info->ReadMark[1] = 0;
        for (var i = 2; i < WalCheckpointInfo.Readers; i++)
        {
            info->ReadMark[i] = WalCheckpointInfo.ReadMarkNotUsed;
        }
    }

    private static int HashBlock(uint frame) => (int)((frame + PagesPerRegion - PagesInFirstRegion - 1) / PagesPerRegion);

    /// <summary>walHashGet: the page-number array, hash table and first frame number (minus one) of a block.</summary>
    private uint* Block(int block, out ushort* hash, out uint zero)
    {
        var region = Map(block, extend: true);
        hash = (ushort*)(region + PagesPerRegion * 4);
        zero = block == 0 ? 0u : (uint)(PagesInFirstRegion + (block - 1) * PagesPerRegion);
        return block == 0 ? (uint*)(region + HeaderBytes) : (uint*)region;
    }

    /// <summary>walIndexAppend: records that <paramref name="frame"/> holds <paramref name="pageNumber"/>.
    /// <paramref name="committedMax"/> is the last committed frame, used to drop leftovers of rolled-back writers.</summary>
    public void Append(uint frame, uint pageNumber, uint committedMax)
    {
        var pages = Block(HashBlock(frame), out var hash, out var zero);
        var idx = frame - zero;
        if (idx == 1)
        {
            // First frame of this block: start from empty page-number and hash arrays.
            NativeMemory.Clear(pages, (nuint)((byte*)(hash + HashSlots) - (byte*)pages));
        }
        if (pages[idx - 1] != 0)
        {
            CleanupAfter(committedMax);
        }
        var key = (int)((pageNumber * HashMultiplier) & (HashSlots - 1));
        var collisions = idx;
        while (hash[key] != 0)
        {
            if (collisions-- == 0)
            {
                throw new RaftSqlException(RaftSqlErrorCode.CorruptLog, "WAL-index hash table is corrupt.");
            }
            key = (key + 1) & (HashSlots - 1);
        }
        pages[idx - 1] = pageNumber;
        Volatile.Write(ref hash[key], (ushort)idx);
    }

    /// <summary>The page number recorded for <paramref name="frame"/>.</summary>
    public uint PageAt(uint frame)
    {
        var pages = Block(HashBlock(frame), out _, out var zero);
        return pages[frame - zero - 1];
    }

    /// <summary>walCleanupHash: forgets entries for frames after <paramref name="committedMax"/> in its block
    /// (later blocks are cleared when their first frame is appended).</summary>
    public void CleanupAfter(uint committedMax)
    {
        if (committedMax == 0)
        {
            return;
        }
        var pages = Block(HashBlock(committedMax), out var hash, out var zero);
        var limit = committedMax - zero;
        for (var i = 0; i < HashSlots; i++)
        {
            if (hash[i] > limit)
            {
                hash[i] = 0;
            }
        }
        NativeMemory.Clear(pages + limit, (nuint)((byte*)hash - (byte*)(pages + limit)));
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var region in _regions)
            {
                NativeMemory.AlignedFree((void*)region);
            }
            _regions.Clear();
            _region0 = IntPtr.Zero;
        }
    }
}
