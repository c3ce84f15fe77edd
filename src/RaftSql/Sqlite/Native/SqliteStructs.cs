using System.Runtime.InteropServices;

namespace RaftSql.Sqlite.Native;

/// <summary><c>sqlite3_vfs</c> (168 bytes on 64-bit). Only <c>xOpen</c> is ours; every other
/// entry is copied from the platform VFS, so those calls never enter managed code.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SqliteVfs
{
    public int Version;
    public int FileSize;
    public int MaxPathName;
    public SqliteVfs* Next;
    public byte* Name;
    public void* AppData;
    public delegate* unmanaged<SqliteVfs*, byte*, SqliteFile*, int, int*, int> Open;
    public IntPtr Delete, Access, FullPathname, DlOpen, DlError, DlSym, DlClose, Randomness, Sleep,
        CurrentTime, GetLastError, CurrentTimeInt64, SetSystemCall, GetSystemCall, NextSystemCall;
}

/// <summary><c>sqlite3_file</c>: every file object starts with its method table.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SqliteFile
{
    public SqliteIoMethods* Methods;
}

/// <summary><c>sqlite3_io_methods</c> (152 bytes on 64-bit, version 3 layout).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SqliteIoMethods
{
    public int Version;
    public delegate* unmanaged<SqliteFile*, int> Close;
    public delegate* unmanaged<SqliteFile*, void*, int, long, int> Read;
    public delegate* unmanaged<SqliteFile*, void*, int, long, int> Write;
    public delegate* unmanaged<SqliteFile*, long, int> Truncate;
    public delegate* unmanaged<SqliteFile*, int, int> Sync;
    public delegate* unmanaged<SqliteFile*, long*, int> FileSize;
    public delegate* unmanaged<SqliteFile*, int, int> Lock;
    public delegate* unmanaged<SqliteFile*, int, int> Unlock;
    public delegate* unmanaged<SqliteFile*, int*, int> CheckReservedLock;
    public delegate* unmanaged<SqliteFile*, int, void*, int> FileControl;
    public delegate* unmanaged<SqliteFile*, int> SectorSize;
    public delegate* unmanaged<SqliteFile*, int> DeviceCharacteristics;
    public delegate* unmanaged<SqliteFile*, int, int, int, void**, int> ShmMap;
    public delegate* unmanaged<SqliteFile*, int, int, int, int> ShmLock;
    public delegate* unmanaged<SqliteFile*, void> ShmBarrier;
    public delegate* unmanaged<SqliteFile*, int, int> ShmUnmap;
    public IntPtr Fetch;
    public IntPtr Unfetch;
}

/// <summary>The layout of a file opened through our VFS when we intercept it: our method table,
/// the GC handle of the managed file object, then the platform VFS's own file object.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct WrappedFile
{
    public SqliteIoMethods* Methods;
    public IntPtr Handle;
    public const int InnerOffset = 16;

    public static SqliteFile* Inner(SqliteFile* file) => (SqliteFile*)((byte*)file + InnerOffset);
}
