namespace RaftSql.Storage;

/// <summary>
/// One node per data directory: two nodes on one directory would both repair and append to the same log.
/// The lock is an exclusive open of a LOCK file (on Unix .NET takes an advisory flock for FileShare.None),
/// released by the kernel when the process dies, so a crashed node never leaves a stale lock behind.
/// </summary>
internal static class DataDirectoryLock
{
    public const string FileName = "LOCK";

    public static FileStream Acquire(string directory)
    {
        var path = Path.Combine(directory, FileName);
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new RaftSqlException(RaftSqlErrorCode.DataDirectoryInUse,
                $"The data directory '{directory}' is in use by another node ({ex.Message}).", ex);
        }
    }
}
