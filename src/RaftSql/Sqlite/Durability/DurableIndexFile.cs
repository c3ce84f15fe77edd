using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace RaftSql.Sqlite.Durability;

/// <summary>
/// Up to which Raft index a database's file and WAL are durable, and which WAL frames that covers:
/// frames after <see cref="Frame"/> of the WAL generation named by the salts may be speculative (a
/// leader's uncommitted tail) and are cut at open; a WAL of another generation is dropped whole (its
/// frames are replayed from the log). <see cref="KnowsWal"/> is false for a record written before
/// the engine kept a tail: that WAL holds committed frames only.
/// </summary>
internal readonly record struct DurableRecord(ulong Index, uint Salt1, uint Salt2, uint Frame, bool KnowsWal)
{
    public static DurableRecord Empty { get; } = new(0, 0, 0, 0, true);
}

/// <summary>The per-database <see cref="DurableRecord"/> file: its fields and a CRC-32, replaced
/// atomically (write temp, fsync, rename, fsync the directory).</summary>
internal static partial class DurableIndexFile
{
    private const int LegacySize = 12;
    private const int Size = 24;

    public static DurableRecord Read(string path)
    {
        if (!File.Exists(path))
        {
            return DurableRecord.Empty;
        }
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length is not (LegacySize or Size)
            || Crc32.HashToUInt32(bytes.AsSpan(0, bytes.Length - 4)) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4)))
        {
            throw new RaftSqlException(RaftSqlErrorCode.CorruptLog, $"Durable index record {path} is corrupt.");
        }
        var index = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (bytes.Length == LegacySize)
        {
            return new DurableRecord(index, 0, 0, 0, KnowsWal: false);
        }
        return new DurableRecord(index, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)),
            BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(12)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(16)), KnowsWal: true);
    }

    public static void Write(string path, DurableRecord record)
    {
        var bytes = new byte[Size];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, record.Index);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), record.Salt1);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(12), record.Salt2);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(16), record.Frame);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(20), Crc32.HashToUInt32(bytes.AsSpan(0, 20)));
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
