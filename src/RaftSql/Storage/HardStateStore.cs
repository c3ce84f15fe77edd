using System.Buffers.Binary;

namespace RaftSql.Storage;

/// <summary>
/// Keeps <see cref="HardState"/> in one small checksummed file, replaced atomically on every save.
/// File layout (little-endian): magic, term, vote, commit, CRC-32C of the preceding bytes.
/// </summary>
public sealed class HardStateStore
{
    public const string FileName = "hardstate";

    private const uint Magic = 0x53485352; // "RSHS"
    private const int Size = 4 + 8 + 8 + 8 + 4;

    private readonly IStorageFiles _files;

    public HardStateStore(string directory)
        : this(directory, DiskFiles.Instance)
    {
    }

    internal HardStateStore(string directory, IStorageFiles files)
    {
        _files = files;
        files.CreateDirectory(directory);
        FilePath = Path.Combine(Path.GetFullPath(directory), FileName);
    }

    internal IStorageFiles Files => _files;

    public string FilePath { get; }

    /// <summary>The saved state, or all zeros when nothing was ever saved.</summary>
    public HardState Load()
    {
        if (!_files.Exists(FilePath))
        {
            return default;
        }

        byte[] bytes = _files.ReadAllBytes(FilePath);
        if (bytes.Length != Size)
        {
            throw StorageErrors.Corrupt(FilePath, $"expected {Size} bytes, found {bytes.Length}");
        }

        ReadOnlySpan<byte> span = bytes;
        if (BinaryPrimitives.ReadUInt32LittleEndian(span) != Magic)
        {
            throw StorageErrors.Corrupt(FilePath, 0, "not a hard-state file (bad magic)");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(span[(Size - 4)..]) != Crc32C.Compute(span[..(Size - 4)]))
        {
            throw StorageErrors.Corrupt(FilePath, Size - 4, "checksum mismatch");
        }

        return new HardState(
            BinaryPrimitives.ReadUInt64LittleEndian(span[4..]),
            BinaryPrimitives.ReadUInt64LittleEndian(span[12..]),
            BinaryPrimitives.ReadUInt64LittleEndian(span[20..]));
    }

    public void Save(HardState state)
    {
        Span<byte> bytes = stackalloc byte[Size];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Magic);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[4..], state.Term);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[12..], state.Vote);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[20..], state.Commit);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[(Size - 4)..], Crc32C.Compute(bytes[..(Size - 4)]));
        AtomicFile.Write(_files, FilePath, bytes);
    }
}
