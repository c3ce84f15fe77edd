using System.Runtime.InteropServices;
using System.Text;

namespace RaftSql.Sqlite.Native;

/// <summary>
/// A file the engine opens itself through the platform (unix) VFS. Going through SQLite's own file
/// layer rather than a .NET FileStream matters for the database file: closing any descriptor of a
/// file drops every POSIX lock the process holds on it, and only the unix VFS knows to defer that.
/// </summary>
internal sealed unsafe class PlatformFile : IDisposable
{
    private readonly SqliteFile* _file;
    private readonly byte* _path;
    private bool _closed;

    private PlatformFile(SqliteFile* file, byte* path, string displayPath)
    {
        _file = file;
        _path = path;
        Path = displayPath;
    }

    public string Path { get; }

    /// <summary>Opens (creating if needed) <paramref name="path"/> with the given SQLite open flags.</summary>
    public static PlatformFile Open(SqliteVfs* platformVfs, string path, int flags)
    {
        var bytes = Encoding.UTF8.GetBytes(path);
        // The unix VFS keeps the name pointer for the file's lifetime, so it lives in native memory;
        // two trailing zero bytes make it a well-formed (parameterless) sqlite3_filename.
        var name = (byte*)NativeMemory.AllocZeroed((nuint)bytes.Length + 4);
        bytes.CopyTo(new Span<byte>(name, bytes.Length));
        var file = (SqliteFile*)NativeMemory.AllocZeroed((nuint)platformVfs->FileSize);
        int outFlags;
        var rc = platformVfs->Open(platformVfs, name, file, flags | SqliteApi.OpenReadWrite | SqliteApi.OpenCreate, &outFlags);
        if (rc != SqliteApi.Ok)
        {
            if (file->Methods != null)
            {
                file->Methods->Close(file);
            }
            NativeMemory.Free(file);
            NativeMemory.Free(name);
            throw new IOException($"Cannot open {path} (SQLite error {rc}).");
        }
        return new PlatformFile(file, name, path);
    }

    public long Length
    {
        get
        {
            long size;
            Check(_file->Methods->FileSize(_file, &size), "size");
            return size;
        }
    }

    // The unix VFS moves at most 128 KiB per call (SQLite itself never asks for more than a page).
    private const int MaxTransfer = 64 * 1024;

    /// <summary>Reads exactly <paramref name="buffer"/>.Length bytes; a short read is an error.</summary>
    public void Read(Span<byte> buffer, long offset)
    {
        fixed (byte* p = buffer)
        {
            for (var done = 0; done < buffer.Length; done += MaxTransfer)
            {
                var count = Math.Min(MaxTransfer, buffer.Length - done);
                Check(_file->Methods->Read(_file, p + done, count, offset + done), $"read {count} bytes at {offset + done} from");
            }
        }
    }

    public void Write(ReadOnlySpan<byte> data, long offset)
    {
        fixed (byte* p = data)
        {
            for (var done = 0; done < data.Length; done += MaxTransfer)
            {
                var count = Math.Min(MaxTransfer, data.Length - done);
                Check(_file->Methods->Write(_file, p + done, count, offset + done), $"write {count} bytes at {offset + done} to");
            }
        }
    }

    public void Truncate(long size) => Check(_file->Methods->Truncate(_file, size), "truncate");

    public void Sync() => Check(_file->Methods->Sync(_file, SqliteApi.SyncNormal), "sync");

    private void Check(int rc, string what)
    {
        if (rc != SqliteApi.Ok)
        {
            throw new IOException($"Cannot {what} {Path} (SQLite error {rc}).");
        }
    }

    public void Dispose()
    {
        if (_closed)
        {
            return;
        }
        _closed = true;
        _file->Methods->Close(_file);
        NativeMemory.Free(_file);
        NativeMemory.Free(_path);
    }
}
