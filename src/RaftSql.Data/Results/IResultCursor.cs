using RaftSql.Data.Values;

namespace RaftSql.Data.Results;

/// <summary>The rows of one command, result set after result set, wherever they come from.</summary>
internal interface IResultCursor : IAsyncDisposable
{
    /// <summary>Columns of the current result set; 0 when the command returned none.</summary>
    int FieldCount { get; }

    /// <summary>Rows changed by the command's writes (0 for a command that only reads).</summary>
    int RecordsAffected { get; }

    string GetName(int ordinal);

    /// <summary>The declared column type ("" for expressions).</summary>
    string GetDeclaredType(int ordinal);

    /// <summary>The value of column <paramref name="ordinal"/> in the current row.</summary>
    SqlValue GetValue(int ordinal);

    /// <summary>True when a row is current (after a successful Read).</summary>
    bool OnRow { get; }

    /// <summary>Whether the current result set has at least one row (may fetch ahead, never consumes).</summary>
    ValueTask<bool> HasRowsAsync(CancellationToken cancellationToken);

    ValueTask<bool> ReadAsync(CancellationToken cancellationToken);

    ValueTask<bool> NextResultAsync(CancellationToken cancellationToken);
}
