using RaftSql.Sqlite.Wal;

namespace RaftSql.Sqlite.Staging;

/// <summary>
/// A big transaction from the log whose chunks are being written to the WAL beyond the published max
/// frame (invisible to readers) until its final entry publishes them all. Memory stays bounded by one
/// chunk whatever the transaction's size, and every chunk costs the apply loop about one chunk's write.
/// After a restart the chunks are replayed from the log: the durable index never passes
/// <see cref="FirstIndex"/> while a transaction is staged, and the unpublished frames are cut at open.
/// </summary>
internal sealed class StagedTransaction(FrameSet first, ulong term, ulong firstIndex, WalAppender appender)
{
    public ulong TransactionId { get; } = first.TransactionId;

    public int PageSize { get; } = first.PageSize;

    /// <summary>The term of the leader that wrote the chunks: an entry of a later term ends any hope of the final one.</summary>
    public ulong Term { get; } = term;

    /// <summary>The index of the first chunk.</summary>
    public ulong FirstIndex { get; } = firstIndex;

    public WalAppender Appender { get; } = appender;

    public uint NextSequence { get; private set; }

    /// <summary>True when <paramref name="frames"/> continues this transaction.</summary>
    public bool Continues(FrameSet frames) =>
        frames.TransactionId == TransactionId && frames.Sequence == NextSequence && frames.PageSize == PageSize;

    /// <summary>Called with the write lock held: the chunk's frames go to the WAL, unpublished.</summary>
    public void Add(FrameSet chunk)
    {
        Appender.Write(chunk.Pages, chunk.IsFinal ? chunk.DatabaseSizePages : 0);
        NextSequence++;
    }
}
