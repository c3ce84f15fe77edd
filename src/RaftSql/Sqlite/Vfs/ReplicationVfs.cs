using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using RaftSql.Sqlite.Native;
using RaftSql.Sqlite.Wal;

namespace RaftSql.Sqlite.Vfs;

/// <summary>
/// A uniquely named SQLite VFS wrapping the platform VFS. Main database files get an in-process
/// WAL-index (xShm*); WAL files get their writes captured. Every other file (journals, temp files)
/// is the platform's own object, untouched, so those calls never enter managed code.
/// Every callback catches everything: an exception escaping into SQLite would kill the process.
/// </summary>
internal sealed unsafe class ReplicationVfs : IDisposable
{
    private static readonly SqliteIoMethods* DatabaseMethods = CreateDatabaseMethods();
    private static readonly SqliteIoMethods* WalMethods = CreateWalMethods();

    private readonly ConcurrentDictionary<string, ReplicatedDatabase> _byPath = new(StringComparer.Ordinal);
    private readonly SqliteVfs* _vfs;
    private readonly byte* _name;
    private readonly GCHandle _self;
    private int _openFiles;
    private bool _registered;

    public ReplicationVfs(string name, IFrameCommitter? committer, int maxEntryBytes, EngineLog log)
    {
        SQLitePCL.Batteries_V2.Init();
        Name = name;
        Committer = committer;
        MaxEntryBytes = maxEntryBytes;
        Log = log;
        Platform = SqliteApi.sqlite3_vfs_find(null);
        if (Platform == null)
        {
            throw new InvalidOperationException("SQLite has no default VFS.");
        }
        var nameBytes = Encoding.UTF8.GetBytes(name);
        _name = (byte*)NativeMemory.AllocZeroed((nuint)nameBytes.Length + 1);
        nameBytes.CopyTo(new Span<byte>(_name, nameBytes.Length));
        _self = GCHandle.Alloc(this);
        _vfs = (SqliteVfs*)NativeMemory.AllocZeroed((nuint)sizeof(SqliteVfs));
        *_vfs = *Platform;
        _vfs->Next = null;
        _vfs->Name = _name;
        _vfs->AppData = (void*)GCHandle.ToIntPtr(_self);
        _vfs->FileSize = WrappedFile.InnerOffset + Platform->FileSize;
        _vfs->Open = &Open;
        var rc = SqliteApi.sqlite3_vfs_register(_vfs, 0);
        if (rc != SqliteApi.Ok)
        {
            throw new InvalidOperationException($"sqlite3_vfs_register failed with {rc}.");
        }
        _registered = true;
    }

    public string Name { get; }

    public SqliteVfs* Platform { get; }

    public IFrameCommitter? Committer { get; }

    public int MaxEntryBytes { get; }

    public EngineLog Log { get; }

    public int OpenFiles => Volatile.Read(ref _openFiles);

    /// <summary>The full path SQLite will use for <paramref name="path"/> (so lookups by path match exactly).</summary>
    public string FullPath(string path)
    {
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        var size = Platform->MaxPathName + 1;
        var buffer = new byte[size];
        fixed (byte* p = bytes)
        fixed (byte* o = buffer)
        {
            var rc = ((delegate* unmanaged<SqliteVfs*, byte*, int, byte*, int>)Platform->FullPathname)(Platform, p, size, o);
            if (rc != SqliteApi.Ok && rc != 0x20d /* SQLITE_OK_SYMLINK */)
            {
                throw new IOException($"Cannot resolve path {path} (SQLite error {rc}).");
            }
        }
        return Encoding.UTF8.GetString(buffer, 0, Array.IndexOf(buffer, (byte)0));
    }

    public void Add(ReplicatedDatabase database) => _byPath[database.Path] = database;

    public void Remove(ReplicatedDatabase database) => _byPath.TryRemove(database.Path, out _);

    public void Dispose()
    {
        if (!_registered)
        {
            return;
        }
        if (OpenFiles > 0)
        {
            // SQLite still holds files whose callbacks point here; unregistering would leave them dangling.
            Log.FilesStillOpen(OpenFiles, Name);
            return;
        }
        SqliteApi.sqlite3_vfs_unregister(_vfs);
        _registered = false;
        NativeMemory.Free(_vfs);
        NativeMemory.Free(_name);
        _self.Free();
    }

    private static ReplicationVfs FromVfs(SqliteVfs* vfs) => (ReplicationVfs)GCHandle.FromIntPtr((IntPtr)vfs->AppData).Target!;

    private static T State<T>(SqliteFile* file) where T : class
        => Unsafe.As<T>(GCHandle.FromIntPtr(((WrappedFile*)file)->Handle).Target!);

    [UnmanagedCallersOnly]
    private static int Open(SqliteVfs* vfs, byte* name, SqliteFile* file, int flags, int* outFlags)
    {
        try
        {
            var self = FromVfs(vfs);
            var platform = self.Platform;
            var isMain = (flags & SqliteApi.OpenMainDb) != 0;
            var isWal = (flags & SqliteApi.OpenWal) != 0;
            if (name == null || !(isMain || isWal))
            {
                return platform->Open(platform, name, file, flags, outFlags);
            }
            file->Methods = null;
            var path = Marshal.PtrToStringUTF8((IntPtr)name)!;
            var databasePath = isWal && path.EndsWith("-wal", StringComparison.Ordinal) ? path[..^4] : path;
            if (!self._byPath.TryGetValue(databasePath, out var database))
            {
                // Only databases the engine manages open through its VFS.
                return SqliteApi.CantOpen;
            }
            var rc = platform->Open(platform, name, WrappedFile.Inner(file), flags, outFlags);
            if (rc != SqliteApi.Ok)
            {
                return rc;
            }
            object state = isMain ? new DatabaseFileState(database, self) : new WalFileState(database, self);
            ((WrappedFile*)file)->Handle = GCHandle.ToIntPtr(GCHandle.Alloc(state));
            file->Methods = isMain ? DatabaseMethods : WalMethods;
            Interlocked.Increment(ref self._openFiles);
            return SqliteApi.Ok;
        }
        catch (Exception e)
        {
            return Fail(vfs, nameof(Open), e, SqliteApi.CantOpen);
        }
    }

    private static int Fail(SqliteVfs* vfs, string callback, Exception e, int rc)
    {
        try
        {
            FromVfs(vfs).Log.CallbackFailed(callback, e);
        }
        catch
        {
            // Logging must never turn a handled failure into a crash.
        }
        return rc;
    }

    private static int Fail(SqliteFile* file, string callback, Exception e, int rc)
    {
        try
        {
            var target = GCHandle.FromIntPtr(((WrappedFile*)file)->Handle).Target;
            var vfs = target switch
            {
                DatabaseFileState d => d.Vfs,
                WalFileState w => w.Vfs,
                _ => null,
            };
            vfs?.Log.CallbackFailed(callback, e);
        }
        catch
        {
            // Logging must never turn a handled failure into a crash.
        }
        return rc;
    }

    // ---- forwarding to the platform file (no managed state needed) ----

    private static SqliteFile* Inner(SqliteFile* file) => WrappedFile.Inner(file);

    [UnmanagedCallersOnly]
    private static int Close(SqliteFile* file)
    {
        try
        {
            var inner = Inner(file);
            var rc = inner->Methods == null ? SqliteApi.Ok : inner->Methods->Close(inner);
            var handle = GCHandle.FromIntPtr(((WrappedFile*)file)->Handle);
            var target = handle.Target;
            if (target is DatabaseFileState db)
            {
                Detach(db);
                Interlocked.Decrement(ref db.Vfs._openFiles);
            }
            else if (target is WalFileState wal)
            {
                Interlocked.Decrement(ref wal.Vfs._openFiles);
            }
            handle.Free();
            file->Methods = null;
            return rc;
        }
        catch (Exception e)
        {
            return Fail(file, nameof(Close), e, SqliteApi.IoErr);
        }
    }

    [UnmanagedCallersOnly]
    private static int Read(SqliteFile* file, void* buffer, int amount, long offset)
    {
        try
        {
            var inner = Inner(file);
            return inner->Methods->Read(inner, buffer, amount, offset);
        }
        catch (Exception e)
        {
            return Fail(file, nameof(Read), e, SqliteApi.IoErrRead);
        }
    }

    [UnmanagedCallersOnly]
    private static int WriteThrough(SqliteFile* file, void* buffer, int amount, long offset)
    {
        try
        {
            var inner = Inner(file);
            return inner->Methods->Write(inner, buffer, amount, offset);
        }
        catch (Exception e)
        {
            return Fail(file, nameof(WriteThrough), e, SqliteApi.IoErrWrite);
        }
    }

    [UnmanagedCallersOnly]
    private static int WalWrite(SqliteFile* file, void* buffer, int amount, long offset)
    {
        try
        {
            return State<WalFileState>(file).Capture.Write(Inner(file), (byte*)buffer, amount, offset);
        }
        catch (Exception e)
        {
            return Fail(file, nameof(WalWrite), e, SqliteApi.IoErrWrite);
        }
    }

    [UnmanagedCallersOnly]
    private static int Truncate(SqliteFile* file, long size)
    {
        try
        {
            var inner = Inner(file);
            return inner->Methods->Truncate(inner, size);
        }
        catch (Exception e)
        {
            return Fail(file, nameof(Truncate), e, SqliteApi.IoErr);
        }
    }

    [UnmanagedCallersOnly]
    private static int Sync(SqliteFile* file, int flags)
    {
        try
        {
            var inner = Inner(file);
            return inner->Methods->Sync(inner, flags);
        }
        catch (Exception e)
        {
            return Fail(file, nameof(Sync), e, SqliteApi.IoErr);
        }
    }

    [UnmanagedCallersOnly]
    private static int FileSize(SqliteFile* file, long* size)
    {
        try
        {
            var inner = Inner(file);
            return inner->Methods->FileSize(inner, size);
        }
        catch (Exception e)
        {
            return Fail(file, nameof(FileSize), e, SqliteApi.IoErr);
        }
    }

    [UnmanagedCallersOnly]
    private static int Lock(SqliteFile* file, int level)
    {
        try
        {
            var inner = Inner(file);
            return inner->Methods->Lock(inner, level);
        }
        catch (Exception e)
        {
            return Fail(file, nameof(Lock), e, SqliteApi.IoErr);
        }
    }

    [UnmanagedCallersOnly]
    private static int Unlock(SqliteFile* file, int level)
    {
        try
        {
            var inner = Inner(file);
            return inner->Methods->Unlock(inner, level);
        }
        catch (Exception e)
        {
            return Fail(file, nameof(Unlock), e, SqliteApi.IoErr);
        }
    }

    [UnmanagedCallersOnly]
    private static int CheckReservedLock(SqliteFile* file, int* result)
    {
        try
        {
            var inner = Inner(file);
            return inner->Methods->CheckReservedLock(inner, result);
        }
        catch (Exception e)
        {
            return Fail(file, nameof(CheckReservedLock), e, SqliteApi.IoErr);
        }
    }

    [UnmanagedCallersOnly]
    private static int FileControl(SqliteFile* file, int op, void* arg)
    {
        try
        {
            var inner = Inner(file);
            return inner->Methods->FileControl(inner, op, arg);
        }
        catch (Exception e)
        {
            return Fail(file, nameof(FileControl), e, SqliteApi.IoErr);
        }
    }

    [UnmanagedCallersOnly]
    private static int SectorSize(SqliteFile* file)
    {
        try
        {
            var inner = Inner(file);
            return inner->Methods->SectorSize(inner);
        }
        catch (Exception e)
        {
            return Fail(file, nameof(SectorSize), e, 0);
        }
    }

    [UnmanagedCallersOnly]
    private static int DeviceCharacteristics(SqliteFile* file)
    {
        try
        {
            var inner = Inner(file);
            return inner->Methods->DeviceCharacteristics(inner);
        }
        catch (Exception e)
        {
            return Fail(file, nameof(DeviceCharacteristics), e, 0);
        }
    }

    // ---- the in-process WAL-index ----

    [UnmanagedCallersOnly]
    private static int ShmMap(SqliteFile* file, int region, int regionSize, int extend, void** address)
    {
        try
        {
            *address = null;
            if (regionSize != Wal.WalIndex.RegionSize)
            {
                return SqliteApi.IoErrShmSize;
            }
            var state = State<DatabaseFileState>(file);
            if (state.Database.ShmMapFault?.Invoke(region) == true)
            {
                return SqliteApi.IoErrShmMap;
            }
            if (!state.Mapped)
            {
                state.Mapped = true;
                state.Database.Index.AddClient();
            }
            *address = state.Database.Index.Map(region, extend != 0);
            return SqliteApi.Ok;
        }
        catch (Exception e)
        {
            return Fail(file, nameof(ShmMap), e, SqliteApi.IoErrShmMap);
        }
    }

    [UnmanagedCallersOnly]
    private static int ShmLock(SqliteFile* file, int offset, int count, int flags)
    {
        try
        {
            var state = State<DatabaseFileState>(file);
            var db = state.Database;
            if (offset == ShmLockTable.CheckpointLock && count == 1 && (flags & SqliteApi.ShmLock) != 0)
            {
                // SQLite's own checkpoints (automatic, on close, or a user's PRAGMA) would copy speculative
                // frames into the database file: only the engine checkpoints, bounded by the commit point.
                // (Recovery asks for this slot together with others and is let through.)
                return SqliteApi.Busy;
            }
            if ((flags & SqliteApi.ShmUnlock) != 0 && offset == ShmLockTable.WriteLock && (state.Client.ExclusiveMask & 1) != 0)
            {
                EndWriteSession(state);
            }
            var cuts = db.Cuts;
            var rc = db.Index.Locks.Apply(state.Client, offset, count, flags);
            if (rc == SqliteApi.Ok && count == 1 && offset >= ShmLockTable.ReadLock(0) && (flags & SqliteApi.ShmShared) != 0)
            {
                // A read transaction starts on the published header (SQLite re-checks it after this lock and
                // retries if it changed), so this is the snapshot the connection reads.
                // Several reads before the engine looks: keep the earliest cut count (a cut after it spoils them
                // all) and the latest frame (it covers the earlier ones).
                var earlier = state.Client.Snapshot;
                state.Client.Snapshot = new ReadSnapshot(earlier.Began ? earlier.Cuts : cuts, db.Index.PublishedSalt1, db.Index.PublishedMaxFrame)
                {
                    Began = true,
                };
            }
            return rc;
        }
        catch (Exception e)
        {
            return Fail(file, nameof(ShmLock), e, SqliteApi.IoErr);
        }
    }

    [UnmanagedCallersOnly]
    private static void ShmBarrier(SqliteFile* file) => Interlocked.MemoryBarrier(); // cannot throw

    [UnmanagedCallersOnly]
    private static int ShmUnmap(SqliteFile* file, int deleteFlag)
    {
        try
        {
            Detach(State<DatabaseFileState>(file));
            return SqliteApi.Ok;
        }
        catch (Exception e)
        {
            return Fail(file, nameof(ShmUnmap), e, SqliteApi.IoErr);
        }
    }

    private static void EndWriteSession(DatabaseFileState state)
    {
        if (state.Database.EndWriteSession(state.Client) is { } lost)
        {
            state.Vfs.Committer?.CommitLost(state.Database.Name, lost);
        }
    }

    private static void Detach(DatabaseFileState state)
    {
        if ((state.Client.ExclusiveMask & 1) != 0)
        {
            EndWriteSession(state);
        }
        state.Database.Index.Locks.ReleaseAll(state.Client);
        if (state.Mapped)
        {
            state.Mapped = false;
            state.Database.Index.RemoveClient();
        }
    }

    private static SqliteIoMethods* CreateCommonMethods(int version)
    {
        var m = (SqliteIoMethods*)NativeMemory.AllocZeroed((nuint)sizeof(SqliteIoMethods));
        m->Version = version;
        m->Close = &Close;
        m->Read = &Read;
        m->Write = &WriteThrough;
        m->Truncate = &Truncate;
        m->Sync = &Sync;
        m->FileSize = &FileSize;
        m->Lock = &Lock;
        m->Unlock = &Unlock;
        m->CheckReservedLock = &CheckReservedLock;
        m->FileControl = &FileControl;
        m->SectorSize = &SectorSize;
        m->DeviceCharacteristics = &DeviceCharacteristics;
        return m;
    }

    private static SqliteIoMethods* CreateDatabaseMethods()
    {
        // Version 2: shared memory, no memory-mapped I/O.
        var m = CreateCommonMethods(2);
        m->ShmMap = &ShmMap;
        m->ShmLock = &ShmLock;
        m->ShmBarrier = &ShmBarrier;
        m->ShmUnmap = &ShmUnmap;
        return m;
    }

    private static SqliteIoMethods* CreateWalMethods()
    {
        var m = CreateCommonMethods(1);
        m->Write = &WalWrite;
        return m;
    }
}
