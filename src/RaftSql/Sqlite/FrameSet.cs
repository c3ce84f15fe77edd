using System.Buffers.Binary;
using System.Text;

namespace RaftSql.Sqlite;

/// <summary>One page image of a replicated transaction.</summary>
public readonly record struct PageImage(uint PageNumber, ReadOnlyMemory<byte> Data);

/// <summary>
/// The payload of one Raft entry: page images of one write transaction in one database. A small
/// transaction is one entry (<see cref="IsFinal"/>, sequence 0). A big one travels as a run of chunk
/// entries (same <see cref="TransactionId"/>, sequence 0, 1, ...) ending in a final entry that carries
/// the database size after commit; followers stage the chunks and publish them at the final entry.
/// Frame headers (salts, checksums) are never part of it: every node computes its own.
/// </summary>
public sealed class FrameSet
{
    private const byte Version1 = 1;
    private const byte Version2 = 2;
    private const int MaxNameBytes = 255;

    public FrameSet(string database, int pageSize, uint databaseSizePages, IReadOnlyList<PageImage> pages)
        : this(database, pageSize, databaseSizePages, pages, transactionId: 0, sequence: 0, isFinal: true)
    {
    }

    public FrameSet(string database, int pageSize, uint databaseSizePages, IReadOnlyList<PageImage> pages,
        ulong transactionId, uint sequence, bool isFinal)
    {
        Database = database ?? throw new ArgumentNullException(nameof(database));
        PageSize = pageSize;
        DatabaseSizePages = databaseSizePages;
        Pages = pages ?? throw new ArgumentNullException(nameof(pages));
        TransactionId = transactionId;
        Sequence = sequence;
        IsFinal = isFinal;
    }

    public string Database { get; }

    public int PageSize { get; }

    /// <summary>The database size in pages after this transaction commits (0 in a chunk entry).</summary>
    public uint DatabaseSizePages { get; }

    public IReadOnlyList<PageImage> Pages { get; }

    /// <summary>Names the transaction a chunk belongs to (0 for a transaction in one entry).</summary>
    public ulong TransactionId { get; }

    /// <summary>Position of this entry in its transaction's run of entries.</summary>
    public uint Sequence { get; }

    /// <summary>True for the entry that commits the transaction.</summary>
    public bool IsFinal { get; }

    /// <summary>True when the whole transaction is this one entry.</summary>
    public bool IsWhole => IsFinal && Sequence == 0;

    /// <summary>True for the abort entry of a big transaction: no pages, not final. Its writer gave up after some of
    /// its chunks reached the log; no final entry will follow, and every node forgets what it staged of it.</summary>
    public bool IsAbort => !IsFinal && Pages.Count == 0;

    /// <summary>The abort entry of big transaction <paramref name="transactionId"/> (see <see cref="IsAbort"/>).</summary>
    public static FrameSet Abort(string database, int pageSize, ulong transactionId, uint sequence) =>
        new(database, pageSize, 0, [], transactionId, sequence, isFinal: false);

    /// <summary>Total bytes of page data.</summary>
    public long PayloadBytes => (long)Pages.Count * PageSize;

    /// <summary>Throws <see cref="RaftSqlErrorCode.InvalidFrames"/> unless every page is well formed.</summary>
    public void Validate()
    {
        if (!IsValidPageSize(PageSize))
        {
            throw Invalid($"page size {PageSize} is not a power of two between 512 and 65536");
        }
        if (IsFinal && DatabaseSizePages == 0)
        {
            throw Invalid("database size after commit is 0");
        }
        if (Pages.Count == 0 && IsWhole)
        {
            throw Invalid("no pages");
        }
        if (!IsWhole && TransactionId == 0)
        {
            throw Invalid("a chunked transaction has no id");
        }
        foreach (var page in Pages)
        {
            if (page.PageNumber == 0)
            {
                throw Invalid("page number 0");
            }
            if (page.Data.Length != PageSize)
            {
                throw Invalid($"page {page.PageNumber} has {page.Data.Length} bytes, expected {PageSize}");
            }
        }
    }

    public static bool IsValidPageSize(int size) => size is >= 512 and <= 65536 && (size & (size - 1)) == 0;

    /// <summary>Bytes an entry takes besides its pages: header and name.</summary>
    public static int Overhead(string database) => 2 + Encoding.UTF8.GetByteCount(database) + 8 + 4 + 1 + 12;

    /// <summary>Bytes one page takes in an entry.</summary>
    public static int BytesPerPage(int pageSize) => 4 + pageSize;

    /// <summary>Writes page <paramref name="index"/> of an entry being encoded into <paramref name="page"/>.</summary>
    public delegate void PageFiller(int index, Span<byte> page);

    /// <summary>Compact binary form: version, name, transaction id, sequence, final flag, page size,
    /// database size, page count, then (number, image) pairs.</summary>
    public byte[] Encode()
    {
        var numbers = new uint[Pages.Count];
        for (var i = 0; i < numbers.Length; i++)
        {
            if (Pages[i].Data.Length != PageSize)
            {
                throw Invalid($"page {Pages[i].PageNumber} has {Pages[i].Data.Length} bytes, expected {PageSize}");
            }
            numbers[i] = Pages[i].PageNumber;
        }
        return Encode(Database, PageSize, DatabaseSizePages, TransactionId, Sequence, IsFinal, numbers,
            (i, page) => Pages[i].Data.Span.CopyTo(page));
    }

    /// <summary>Encodes an entry whose page images <paramref name="fill"/> writes straight into it (the leader
    /// reads them from its WAL file into the entry: no page is copied twice).</summary>
    public static byte[] Encode(string database, int pageSize, uint databaseSizePages, ulong transactionId, uint sequence,
        bool isFinal, ReadOnlySpan<uint> pageNumbers, PageFiller fill)
    {
        ArgumentNullException.ThrowIfNull(fill);
        var name = Encoding.UTF8.GetBytes(database);
        if (name.Length > MaxNameBytes)
        {
            throw Invalid("database name too long");
        }
        var buffer = new byte[Overhead(database) + pageNumbers.Length * BytesPerPage(pageSize)];
        var span = buffer.AsSpan();
        span[0] = Version2;
        span[1] = (byte)name.Length;
        name.CopyTo(span[2..]);
        var at = 2 + name.Length;
        BinaryPrimitives.WriteUInt64LittleEndian(span[at..], transactionId);
        BinaryPrimitives.WriteUInt32LittleEndian(span[(at + 8)..], sequence);
        span[at + 12] = isFinal ? (byte)1 : (byte)0;
        at += 13;
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], pageSize);
        BinaryPrimitives.WriteUInt32LittleEndian(span[(at + 4)..], databaseSizePages);
        BinaryPrimitives.WriteInt32LittleEndian(span[(at + 8)..], pageNumbers.Length);
        at += 12;
        for (var i = 0; i < pageNumbers.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[at..], pageNumbers[i]);
            fill(i, span.Slice(at + 4, pageSize));
            at += BytesPerPage(pageSize);
        }
        return buffer;
    }

    /// <summary>The database an encoded entry names, without decoding its pages.</summary>
    public static string DatabaseOf(ReadOnlySpan<byte> data)
    {
        if (data.Length < 2 || data[0] is not (Version1 or Version2) || data.Length < 2 + data[1])
        {
            throw Invalid("unknown format version");
        }
        return Name(data.Slice(2, data[1]));
    }

    /// <summary>Parses <see cref="Encode"/>'s output (and version 1 entries, which are whole
    /// transactions); anything else throws <see cref="RaftSqlErrorCode.InvalidFrames"/>. The pages are copied
    /// out of <paramref name="data"/> in one array.</summary>
    public static FrameSet Decode(ReadOnlySpan<byte> data) => Decode((ReadOnlyMemory<byte>)data.ToArray());

    /// <summary>As <see cref="Decode(ReadOnlySpan{byte})"/>, but the pages are slices of <paramref name="data"/>,
    /// which must not change while the frame set is in use (Raft entries never change): applying an entry
    /// then copies no page.</summary>
    public static FrameSet Decode(ReadOnlyMemory<byte> encoded)
    {
        var data = encoded.Span;
        if (data.Length < 2 || data[0] is not (Version1 or Version2))
        {
            throw Invalid("unknown format version");
        }
        var version = data[0];
        var nameLength = data[1];
        var fixedBytes = version == Version2 ? 13 + 12 : 12;
        if (data.Length < 2 + nameLength + fixedBytes)
        {
            throw Invalid("truncated header");
        }
        var name = Name(data.Slice(2, nameLength));
        var at = 2 + nameLength;
        ulong transactionId = 0;
        uint sequence = 0;
        var isFinal = true;
        if (version == Version2)
        {
            transactionId = BinaryPrimitives.ReadUInt64LittleEndian(data[at..]);
            sequence = BinaryPrimitives.ReadUInt32LittleEndian(data[(at + 8)..]);
            isFinal = data[at + 12] switch
            {
                0 => false,
                1 => true,
                _ => throw Invalid("bad final flag"),
            };
            at += 13;
        }
        var pageSize = BinaryPrimitives.ReadInt32LittleEndian(data[at..]);
        var dbSize = BinaryPrimitives.ReadUInt32LittleEndian(data[(at + 4)..]);
        var count = BinaryPrimitives.ReadInt32LittleEndian(data[(at + 8)..]);
        at += 12;
        if (!IsValidPageSize(pageSize) || count < 0 || (long)count * BytesPerPage(pageSize) != data.Length - at)
        {
            throw Invalid("page size, page count and length disagree");
        }
        var pages = new PageImage[count];
        for (var i = 0; i < count; i++)
        {
            var number = BinaryPrimitives.ReadUInt32LittleEndian(data[at..]);
            pages[i] = new PageImage(number, encoded.Slice(at + 4, pageSize));
            at += BytesPerPage(pageSize);
        }
        var frames = new FrameSet(name, pageSize, dbSize, pages, transactionId, sequence, isFinal);
        frames.Validate();
        return frames;
    }

    private static string Name(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw Invalid("database name is not UTF-8", e);
        }
    }

    private static RaftSqlException Invalid(string why, Exception? inner = null)
        => new(RaftSqlErrorCode.InvalidFrames, $"Invalid frame set: {why}.", inner);
}
