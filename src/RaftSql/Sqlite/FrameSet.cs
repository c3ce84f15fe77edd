using System.Buffers.Binary;
using System.Text;

namespace RaftSql.Sqlite;

/// <summary>One page image of a replicated transaction.</summary>
public readonly record struct PageImage(uint PageNumber, ReadOnlyMemory<byte> Data);

/// <summary>
/// What one committed write transaction changed in one database: the last image of every page it
/// wrote and the database size after commit. This is the payload of a Raft entry. Frame headers
/// (salts, checksums) are never part of it: every node computes its own.
/// </summary>
public sealed class FrameSet
{
    private const byte FormatVersion = 1;
    private const int MaxNameBytes = 255;

    public FrameSet(string database, int pageSize, uint databaseSizePages, IReadOnlyList<PageImage> pages)
    {
        Database = database ?? throw new ArgumentNullException(nameof(database));
        PageSize = pageSize;
        DatabaseSizePages = databaseSizePages;
        Pages = pages ?? throw new ArgumentNullException(nameof(pages));
    }

    public string Database { get; }

    public int PageSize { get; }

    /// <summary>The database size in pages after this transaction commits.</summary>
    public uint DatabaseSizePages { get; }

    public IReadOnlyList<PageImage> Pages { get; }

    /// <summary>Total bytes of page data.</summary>
    public long PayloadBytes => (long)Pages.Count * PageSize;

    /// <summary>Throws <see cref="RaftSqlErrorCode.InvalidFrames"/> unless every page is well formed.</summary>
    public void Validate()
    {
        if (!IsValidPageSize(PageSize))
        {
            throw Invalid($"page size {PageSize} is not a power of two between 512 and 65536");
        }
        if (DatabaseSizePages == 0)
        {
            throw Invalid("database size after commit is 0");
        }
        if (Pages.Count == 0)
        {
            throw Invalid("no pages");
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

    /// <summary>Compact binary form: version, name, page size, database size, page count, then (number, image) pairs.</summary>
    public byte[] Encode()
    {
        var name = Encoding.UTF8.GetBytes(Database);
        if (name.Length > MaxNameBytes)
        {
            throw Invalid("database name too long");
        }
        var buffer = new byte[1 + 1 + name.Length + 12 + Pages.Count * (4 + PageSize)];
        var span = buffer.AsSpan();
        span[0] = FormatVersion;
        span[1] = (byte)name.Length;
        name.CopyTo(span[2..]);
        var at = 2 + name.Length;
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], PageSize);
        BinaryPrimitives.WriteUInt32LittleEndian(span[(at + 4)..], DatabaseSizePages);
        BinaryPrimitives.WriteInt32LittleEndian(span[(at + 8)..], Pages.Count);
        at += 12;
        foreach (var page in Pages)
        {
            if (page.Data.Length != PageSize)
            {
                throw Invalid($"page {page.PageNumber} has {page.Data.Length} bytes, expected {PageSize}");
            }
            BinaryPrimitives.WriteUInt32LittleEndian(span[at..], page.PageNumber);
            page.Data.Span.CopyTo(span[(at + 4)..]);
            at += 4 + PageSize;
        }
        return buffer;
    }

    /// <summary>Parses <see cref="Encode"/>'s output; anything else throws <see cref="RaftSqlErrorCode.InvalidFrames"/>.</summary>
    public static FrameSet Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length < 2 || data[0] != FormatVersion)
        {
            throw Invalid("unknown format version");
        }
        var nameLength = data[1];
        if (data.Length < 2 + nameLength + 12)
        {
            throw Invalid("truncated header");
        }
        string name;
        try
        {
            name = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(data.Slice(2, nameLength));
        }
        catch (DecoderFallbackException e)
        {
            throw Invalid("database name is not UTF-8", e);
        }
        var at = 2 + nameLength;
        var pageSize = BinaryPrimitives.ReadInt32LittleEndian(data[at..]);
        var dbSize = BinaryPrimitives.ReadUInt32LittleEndian(data[(at + 4)..]);
        var count = BinaryPrimitives.ReadInt32LittleEndian(data[(at + 8)..]);
        at += 12;
        if (!IsValidPageSize(pageSize) || count <= 0 || (long)count * (4 + pageSize) != data.Length - at)
        {
            throw Invalid("page size, page count and length disagree");
        }
        var pages = new PageImage[count];
        for (var i = 0; i < count; i++)
        {
            var number = BinaryPrimitives.ReadUInt32LittleEndian(data[at..]);
            pages[i] = new PageImage(number, data.Slice(at + 4, pageSize).ToArray());
            at += 4 + pageSize;
        }
        var frames = new FrameSet(name, pageSize, dbSize, pages);
        frames.Validate();
        return frames;
    }

    private static RaftSqlException Invalid(string why, Exception? inner = null)
        => new(RaftSqlErrorCode.InvalidFrames, $"Invalid frame set: {why}.", inner);
}
