using Microsoft.Data.Sqlite;
using RaftSql.Gateway;

namespace RaftSql.Data.Channels;

/// <summary>The fast read path of an in-process node: its pooled read-only SQLite connections.</summary>
internal interface ILocalReads
{
    /// <summary>True when every statement of <paramref name="sql"/> is read-only (sqlite3_stmt_readonly on
    /// this node's copy); false when any writes or it cannot be prepared here.</summary>
    bool IsReadOnly(string database, string sql);

    /// <summary>Waits until a read at <paramref name="consistency"/> may run on this node's files; not
    /// <see cref="ReadPermit.Here"/> when it must go through the node instead (a lease read on a follower).
    /// A lease read must check <see cref="ReadPermit.StillHolds"/> once it has read.</summary>
    Task<ReadPermit> PrepareAsync(string database, ReadConsistency consistency, ulong minIndex, CancellationToken cancellationToken);

    SqliteConnection Rent(string database);

    void Return(string database, SqliteConnection connection);

    /// <summary>Completes when what the last read on <paramref name="connection"/> saw is committed (on a
    /// leader, its speculative writes); rows must not reach the caller before.</summary>
    Task WhenVisibleCommitted(SqliteConnection connection);

    /// <summary>A lease read finished after its lease ran out: waits until a read here is linearizable.</summary>
    Task ConfirmLateLeaseReadAsync(string database, CancellationToken cancellationToken);
}
