namespace RaftSql.Sqlite;

/// <summary>
/// Remembers, per thread, the local commits SQLite made since the last reset. Microsoft.Data.Sqlite
/// runs a statement on the calling thread and the VFS captures its commit on that same thread, so
/// after a statement the gateway knows which commits its reply must wait for.
/// </summary>
public static class LocalCommitTracker
{
    [ThreadStatic]
    private static List<LocalCommit>? t_commits;

    internal static void Track(LocalCommit commit) => (t_commits ??= []).Add(commit);

    /// <summary>Forgets what earlier statements on this thread committed.</summary>
    public static void Reset() => t_commits?.Clear();

    /// <summary>The commits made on this thread since <see cref="Reset"/> (a copy).</summary>
    public static IReadOnlyList<LocalCommit> Take()
    {
        if (t_commits is not { Count: > 0 } commits)
        {
            return [];
        }
        var taken = commits.ToArray();
        commits.Clear();
        return taken;
    }
}
