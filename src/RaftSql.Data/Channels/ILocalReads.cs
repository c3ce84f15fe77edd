using Microsoft.Data.Sqlite;

namespace RaftSql.Data.Channels;

/// <summary>The fast read path of an in-process node: its pooled read-only SQLite connections.</summary>
internal interface ILocalReads
{
    /// <summary>True when every statement of <paramref name="sql"/> is read-only (sqlite3_stmt_readonly on
    /// this node's copy); false when any writes or it cannot be prepared here.</summary>
    bool IsReadOnly(string database, string sql);

    /// <summary>Waits until a read at <paramref name="consistency"/> may run on this node's files; false
    /// when it must go through the node instead (a lease read on a follower).</summary>
    Task<bool> PrepareAsync(string database, ReadConsistency consistency, ulong minIndex, CancellationToken cancellationToken);

    SqliteConnection Rent(string database);

    void Return(string database, SqliteConnection connection);

    /// <summary>Completes when what the last read on <paramref name="connection"/> saw is committed (on a
    /// leader, its speculative writes); rows must not reach the caller before.</summary>
    Task WhenVisibleCommitted(SqliteConnection connection);
}
