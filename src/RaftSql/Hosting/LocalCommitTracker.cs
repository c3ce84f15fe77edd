using RaftSql.Sqlite;

namespace RaftSql.Hosting;

/// <summary>
/// Remembers, per thread, the last local commit SQLite submitted. Microsoft.Data.Sqlite runs a
/// statement on the calling thread, and the VFS submits its commit on that same thread, so after a
/// statement the gateway learns the Raft index its write committed at (for read-your-writes).
/// </summary>
internal static class LocalCommitTracker
{
    [ThreadStatic]
    private static PendingCommit? t_last;

    public static void Track(PendingCommit commit) => t_last = commit;

    /// <summary>Forgets what an earlier statement on this thread committed.</summary>
    public static void Reset() => t_last = null;

    /// <summary>The Raft index of the last commit on this thread since <see cref="Reset"/>, or 0.</summary>
    public static ulong LastIndex => t_last?.RaftIndex ?? 0;
}
