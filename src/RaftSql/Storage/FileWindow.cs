namespace RaftSql.Storage;

/// <summary>A forward-moving read buffer over a file, so recovery does not issue a syscall per record.</summary>
internal sealed class FileWindow(IStorageFile file, long fileLength)
{
    private const int DefaultCapacity = 1 << 20;

    private byte[] _buffer = new byte[(int)Math.Min(DefaultCapacity, Math.Max(fileLength, 1))];
    private long _start;
    private int _count;

    public long FileLength => fileLength;

    /// <summary>Up to <paramref name="count"/> bytes at <paramref name="offset"/>; fewer only at the end of the file.</summary>
    public ReadOnlySpan<byte> Read(long offset, int count)
    {
        count = (int)Math.Min(count, Math.Max(0, fileLength - offset));
        if (offset >= _start && offset + count <= _start + _count)
        {
            return _buffer.AsSpan((int)(offset - _start), count);
        }

        if (count > _buffer.Length)
        {
            _buffer = new byte[count];
        }

        int wanted = (int)Math.Min(_buffer.Length, fileLength - offset);
        int read = 0;
        while (read < wanted)
        {
            int n = file.Read(_buffer.AsSpan(read, wanted - read), offset + read);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        _start = offset;
        _count = read;
        return _buffer.AsSpan(0, Math.Min(count, read));
    }
}
