using System.Runtime.InteropServices;

namespace RaftSql.Sqlite.Native;

/// <summary>The few entry points of the e_sqlite3 library (the one SQLitePCLRaw loads) that the VFS needs.</summary>
internal static unsafe partial class SqliteApi
{
    private const string Library = "e_sqlite3";

    public const int Ok = 0;
    public const int Error = 1;
    public const int Busy = 5;
    public const int NoMem = 7;
    public const int IoErr = 10;
    public const int CantOpen = 14;
    public const int NotFound = 12;
    public const int IoErrRead = IoErr | (1 << 8);
    public const int IoErrShortRead = IoErr | (2 << 8);
    public const int IoErrWrite = IoErr | (3 << 8);
    public const int IoErrShmSize = IoErr | (19 << 8);
    public const int IoErrShmMap = IoErr | (21 << 8);

    public const int OpenReadOnly = 0x00000001;
    public const int OpenReadWrite = 0x00000002;
    public const int OpenCreate = 0x00000004;
    public const int OpenMainDb = 0x00000100;
    public const int OpenWal = 0x00080000;

    public const int ShmUnlock = 1;
    public const int ShmLock = 2;
    public const int ShmShared = 4;
    public const int ShmExclusive = 8;

    public const int SyncNormal = 0x00002;

    public const int FcntlFilePointer = 7;
    public const int DbConfigNoCheckpointOnClose = 1006;

    [LibraryImport(Library)]
    public static partial int sqlite3_db_config(IntPtr db, int op, int value, int* result);

    [LibraryImport(Library)]
    public static partial int sqlite3_file_control(IntPtr db, byte* name, int op, void* arg);

    [LibraryImport(Library)]
    public static partial SqliteVfs* sqlite3_vfs_find(byte* name);

    [LibraryImport(Library)]
    public static partial int sqlite3_vfs_register(SqliteVfs* vfs, int makeDefault);

    [LibraryImport(Library)]
    public static partial int sqlite3_vfs_unregister(SqliteVfs* vfs);
}
