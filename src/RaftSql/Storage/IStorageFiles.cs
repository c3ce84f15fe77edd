namespace RaftSql.Storage;

/// <summary>
/// The file operations the Raft log store uses, so the whole-node simulator can put a simulated disk under it
/// (unsynced writes lost or torn at a crash, a full disk, bit flips). Production uses <see cref="DiskFiles"/>.
/// Directory entries (create, rename, delete) are durable only after <see cref="SyncDirectory"/>.
/// </summary>
internal interface IStorageFiles
{
    /// <summary>Opens for reading and writing (others may read); <paramref name="mode"/> as for a FileStream.</summary>
    IStorageFile Open(string path, FileMode mode);

    bool Exists(string path);

    byte[] ReadAllBytes(string path);

    void Delete(string path);

    /// <summary>Renames, replacing <paramref name="destination"/> if it exists.</summary>
    void Replace(string source, string destination);

    void CreateDirectory(string path);

    /// <summary>fsync of the directory: its entries' creations, renames and deletions become durable.</summary>
    void SyncDirectory(string path);

    /// <summary>Full paths of the files directly in <paramref name="directory"/>.</summary>
    IEnumerable<string> EnumerateFiles(string directory);
}

/// <summary>An open file, read and written at explicit offsets.</summary>
internal interface IStorageFile : IDisposable
{
    long Length { get; }

    /// <summary>Reads up to buffer.Length bytes at <paramref name="offset"/>; 0 at the end of the file.</summary>
    int Read(Span<byte> buffer, long offset);

    void Write(ReadOnlySpan<byte> buffer, long offset);

    void SetLength(long length);

    /// <summary>fsync: everything written to this file so far is durable when it returns.</summary>
    void Sync();
}
