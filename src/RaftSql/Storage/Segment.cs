using System.Globalization;

namespace RaftSql.Storage;

/// <summary>
/// One segment file plus its in-memory index (offset and term per record, no payloads). Records in a segment
/// have contiguous indexes starting at <see cref="FirstIndex"/>, which is also the file name.
/// </summary>
internal sealed class Segment : IDisposable
{
    private const string Extension = ".log";
    private const int NameDigits = 20;

    private readonly List<long> _offsets = [];
    private readonly List<ulong> _terms = [];

    private readonly IStorageFiles _files;

    private Segment(IStorageFiles files, string path, ulong firstIndex, IStorageFile file)
    {
        _files = files;
        FilePath = path;
        FirstIndex = firstIndex;
        File = file;
    }

    public string FilePath { get; }

    public ulong FirstIndex { get; }

    public IStorageFile File { get; }

    /// <summary>Bytes of valid records; the file has exactly this length once recovery is done.</summary>
    public long Length { get; private set; }

    public int Count => _offsets.Count;

    /// <summary>Index of the last record, or <c>FirstIndex - 1</c> when the segment is empty.</summary>
    public ulong LastIndex => FirstIndex + (ulong)Count - 1;

    /// <summary>Written since the last fsync.</summary>
    public bool Dirty { get; set; }

    public static Segment Create(IStorageFiles files, string directory, ulong firstIndex)
    {
        string path = PathFor(directory, firstIndex);
        return new Segment(files, path, firstIndex, files.Open(path, FileMode.Create));
    }

    public static string PathFor(string directory, ulong firstIndex) => Path.Combine(directory, FileNameFor(firstIndex));

    public static Segment OpenExisting(IStorageFiles files, string path, ulong firstIndex) => new(files, path, firstIndex, files.Open(path, FileMode.Open));

    public static bool TryParseFileName(string fileName, out ulong firstIndex)
    {
        firstIndex = 0;
        return fileName.Length == NameDigits + Extension.Length
            && fileName.EndsWith(Extension, StringComparison.Ordinal)
            && ulong.TryParse(fileName.AsSpan(0, NameDigits), NumberStyles.None, CultureInfo.InvariantCulture, out firstIndex)
            && firstIndex > 0;
    }

    public bool Contains(ulong index) => index >= FirstIndex && index - FirstIndex < (ulong)Count;

    public long OffsetOf(ulong index) => _offsets[Position(index)];

    public ulong TermOf(ulong index) => _terms[Position(index)];

    public int EncodedLengthOf(ulong index)
    {
        int position = Position(index);
        long end = position + 1 < Count ? _offsets[position + 1] : Length;
        return (int)(end - _offsets[position]);
    }

    /// <summary>Records that a record with the next index was written at the current end.</summary>
    public void AddRecord(ulong term, int encodedLength)
    {
        _offsets.Add(Length);
        _terms.Add(term);
        Length += encodedLength;
    }

    /// <summary>Cuts the file (and index) so that <paramref name="index"/> and everything after it are gone.</summary>
    public void TruncateFrom(ulong index)
    {
        int position = Position(index);
        long offset = _offsets[position];
        File.SetLength(offset);
        _offsets.RemoveRange(position, Count - position);
        _terms.RemoveRange(position, _terms.Count - position);
        Length = offset;
        Dirty = true;
    }

    /// <summary>Cuts a damaged tail found by recovery (no index entries point there).</summary>
    public void TruncateTail(long offset)
    {
        File.SetLength(offset);
        File.Sync();
    }

    public void Delete()
    {
        File.Dispose();
        _files.Delete(FilePath);
    }

    public void Dispose() => File.Dispose();

    private static string FileNameFor(ulong firstIndex) =>
        firstIndex.ToString("D" + NameDigits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) + Extension;

    private int Position(ulong index)
    {
        if (!Contains(index))
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Index is not in segment {FilePath}.");
        }

        return (int)(index - FirstIndex);
    }
}
