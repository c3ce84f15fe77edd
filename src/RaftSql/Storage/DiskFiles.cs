using Microsoft.Win32.SafeHandles;

namespace RaftSql.Storage;

/// <summary>The real file system: each call is the one syscall the log store made before the seam existed.</summary>
internal sealed class DiskFiles : IStorageFiles
{
    public static DiskFiles Instance { get; } = new();

    private DiskFiles()
    {
    }

    public IStorageFile Open(string path, FileMode mode) =>
        new DiskFile(File.OpenHandle(path, mode, FileAccess.ReadWrite, FileShare.Read));

    public bool Exists(string path) => File.Exists(path);

    public byte[] ReadAllBytes(string path) => File.ReadAllBytes(path);

    public void Delete(string path) => File.Delete(path);

    public void Replace(string source, string destination) => File.Move(source, destination, overwrite: true);

    public void CreateDirectory(string path) => Directory.CreateDirectory(path);

    public void SyncDirectory(string path) => AtomicFile.FsyncDirectory(path);

    public IEnumerable<string> EnumerateFiles(string directory) => Directory.EnumerateFiles(directory);

    private sealed class DiskFile(SafeFileHandle handle) : IStorageFile
    {
        public long Length => RandomAccess.GetLength(handle);

        public int Read(Span<byte> buffer, long offset) => RandomAccess.Read(handle, buffer, offset);

        public void Write(ReadOnlySpan<byte> buffer, long offset) => RandomAccess.Write(handle, buffer, offset);

        public void SetLength(long length) => RandomAccess.SetLength(handle, length);

        public void Sync() => RandomAccess.FlushToDisk(handle);

        public void Dispose() => handle.Dispose();
    }
}
