namespace RaftSql.Storage;

/// <summary>
/// A file that exists while a node runs. Found at start, it says the last run did not stop cleanly: the commit
/// index in the hard state is saved lazily, so that run may have applied (and served reads) past it.
/// </summary>
internal static class RunMarker
{
    public const string FileName = "running";

    /// <summary>Creates the marker durably; true when it was there already (the last run crashed).</summary>
    public static bool Begin(IStorageFiles files, string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (files.Exists(path))
        {
            return true;
        }
        using (IStorageFile file = files.Open(path, FileMode.CreateNew))
        {
            file.Sync();
        }
        files.SyncDirectory(directory);
        return false;
    }

    /// <summary>A clean stop, once the commit index is saved and covers what the node may have served (see
    /// RaftLogStore.UnconfirmedReadFloor). Losing the deletion only costs a cautious next start.</summary>
    public static void End(IStorageFiles files, string directory) => files.Delete(Path.Combine(directory, FileName));
}
