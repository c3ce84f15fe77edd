using System.ComponentModel;
using System.Runtime.InteropServices;

namespace RaftSql.Storage;

/// <summary>
/// Replaces small files so that after a crash the old or the new content is present, never a mix:
/// write a temp file, fsync it, rename it over the target, fsync the directory (so the rename itself is durable).
/// A temp file left by a crash is simply overwritten by the next write.
/// </summary>
public static partial class AtomicFile
{
    public const string TempSuffix = ".tmp";

    public static void Write(string path, ReadOnlySpan<byte> content) => Write(DiskFiles.Instance, path, content);

    internal static void Write(IStorageFiles files, string path, ReadOnlySpan<byte> content)
    {
        string fullPath = Path.GetFullPath(path);
        string tempPath = fullPath + TempSuffix;
        using (IStorageFile temp = files.Open(tempPath, FileMode.Create))
        {
            temp.Write(content, 0);
            temp.Sync();
        }

        files.Replace(tempPath, fullPath);
        files.SyncDirectory(Path.GetDirectoryName(fullPath)!);
    }

    /// <summary>
    /// Makes creations, renames and deletions of entries in <paramref name="directory"/> durable.
    /// .NET cannot open a directory as a file on Unix, hence libc. Windows has no equivalent and needs none.
    /// </summary>
    public static void FsyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // O_RDONLY is 0 on every Unix; O_DIRECTORY differs between architectures and is not needed.
        int fd = Native.Open(directory, 0);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory '{directory}' to fsync it.", new Win32Exception(Marshal.GetLastPInvokeError()));
        }

        try
        {
            if (Native.Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory '{directory}' failed.", new Win32Exception(Marshal.GetLastPInvokeError()));
            }
        }
        finally
        {
            _ = Native.Close(fd);
        }
    }

    private static partial class Native
    {
        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
        internal static partial int Fsync(int fd);

        [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
        internal static partial int Close(int fd);
    }
}
