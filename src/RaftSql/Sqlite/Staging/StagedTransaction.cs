using System.Buffers.Binary;

namespace RaftSql.Sqlite.Staging;

/// <summary>
/// The chunks of a big transaction from the log, kept in a spill file until its final entry
/// publishes them: memory stays bounded by one chunk whatever the transaction's size. The file is
/// scratch: after a restart the chunks are replayed from the log (the durable index never passes
/// <see cref="FirstIndex"/> while a transaction is staged).
/// </summary>
internal sealed class StagedTransaction : IDisposable
{
    private const int BatchPages = 256;
    private readonly FileStream _file;

    public StagedTransaction(string path, FrameSet first, ulong term, ulong firstIndex)
    {
        Path = path;
        TransactionId = first.TransactionId;
        PageSize = first.PageSize;
        Term = term;
        FirstIndex = firstIndex;
        _file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
    }

    public string Path { get; }

    public ulong TransactionId { get; }

    public int PageSize { get; }

    /// <summary>The term of the leader that wrote the chunks: an entry of a later term ends any hope of the final one.</summary>
    public ulong Term { get; }

    /// <summary>The index of the first chunk.</summary>
    public ulong FirstIndex { get; }

    public uint NextSequence { get; private set; }

    public long PageCount { get; private set; }

    /// <summary>True when <paramref name="frames"/> continues this transaction.</summary>
    public bool Continues(FrameSet frames) =>
        frames.TransactionId == TransactionId && frames.Sequence == NextSequence && frames.PageSize == PageSize;

    public void Add(FrameSet chunk)
    {
        var record = new byte[FrameSet.BytesPerPage(PageSize)];
        _file.Seek(0, SeekOrigin.End);
        foreach (var page in chunk.Pages)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(record, page.PageNumber);
            page.Data.Span.CopyTo(record.AsSpan(4));
            _file.Write(record);
        }
        NextSequence++;
        PageCount += chunk.Pages.Count;
    }

    /// <summary>Every staged page, in batches whose memory is reused: a batch stays valid until the one after
    /// the next is asked for (the WAL appender looks one batch ahead to find the commit frame).</summary>
    public IEnumerable<IReadOnlyList<PageImage>> Batches()
    {
        _file.Flush();
        _file.Position = 0;
        var recordSize = FrameSet.BytesPerPage(PageSize);
        byte[][] buffers = [new byte[BatchPages * recordSize], new byte[BatchPages * recordSize]];
        for (long done = 0, round = 0; done < PageCount; round++)
        {
            var buffer = buffers[round % 2];
            var count = (int)Math.Min(BatchPages, PageCount - done);
            _file.ReadExactly(buffer, 0, count * recordSize);
            var pages = new PageImage[count];
            for (var i = 0; i < count; i++)
            {
                var at = i * recordSize;
                pages[i] = new PageImage(BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at)), buffer.AsMemory(at + 4, PageSize));
            }
            done += count;
            yield return pages;
        }
    }

    public void Dispose() => _file.Dispose();
}
