namespace RaftSql;

/// <summary>What a writing statement did.</summary>
/// <param name="RowsAffected">Rows inserted, updated or deleted.</param>
/// <param name="LastInsertRowId">The rowid of the last row inserted on the leader's connection.</param>
/// <param name="RaftIndex">The Raft index the write committed at (0 when nothing was written); a
/// <see cref="ReadConsistency.Session"/> read anywhere waits for it.</param>
public sealed record ExecuteResult(long RowsAffected, long LastInsertRowId, ulong RaftIndex);

/// <summary>The rows of a query, read whole. Values are <see cref="long"/>, <see cref="double"/>,
/// <see cref="string"/>, <see cref="byte"/>[] or <see cref="DBNull"/>, as SQLite stores them.</summary>
public sealed record QueryResult(IReadOnlyList<string> Columns, IReadOnlyList<object[]> Rows)
{
    /// <summary>The first column of the first row, or null when there is no row.</summary>
    public object? Scalar => Rows.Count > 0 && Rows[0].Length > 0 ? Rows[0][0] : null;
}
