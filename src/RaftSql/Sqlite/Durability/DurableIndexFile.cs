using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace RaftSql.Sqlite.Durability;

/// <summary>
/// The per-database record of the Raft index up to which its file and WAL are durable: 8 bytes of
/// index and a CRC-32, replaced atomically (write temp, fsync, rename, fsync the directory).
/// </summary>
internal static partial class DurableIndexFile
{
    private const int Size = 12;

    public static ulong Read(string path)
    {
        if (!File.Exists(path))
        {
            return 0;
        }
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != Size || Crc32.HashToUInt32(bytes.AsSpan(0, 8)) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)))
        {
            throw new RaftSqlException(RaftSqlErrorCode.CorruptLog, $"Durable index record {path} is corrupt.");
        }
        return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }

    public static void Write(string path, ulong index)
    {
        var bytes = new byte[Size];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, index);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), Crc32.HashToUInt32(bytes.AsSpan(0, 8)));
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        SyncDirectory(Path.GetDirectoryName(path)!);
    }

    /// <summary>Makes a rename durable. .NET cannot open a directory, so this goes to libc on Unix.</summary>
    public static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var fd = open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory {directory} to sync it (errno {Marshal.GetLastPInvokeError()}).");
        }
        try
        {
            if (fsync(fd) != 0)
            {
                throw new IOException($"Cannot sync directory {directory} (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = close(fd);
        }
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
