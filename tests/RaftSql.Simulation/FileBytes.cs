namespace RaftSql.Simulation;

/// <summary>A growable byte array with a length: the content of one simulated file.</summary>
internal sealed class FileBytes
{
    private byte[] _data = [];

    public long Length { get; private set; }

    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/> (zeros fill a gap), or, with no data,
    /// sets the length to <paramref name="length"/>.</summary>
    public void Apply(long offset, byte[]? data, long length)
    {
        if (data is null)
        {
            SetLength(length);
            return;
        }
        var end = offset + data.Length;
        if (end > Length)
            SetLength(end);
        data.CopyTo(_data.AsSpan((int)offset));
    }

    public int Read(Span<byte> buffer, long offset)
    {
        if (offset >= Length)
            return 0;
        var count = (int)Math.Min(buffer.Length, Length - offset);
        _data.AsSpan((int)offset, count).CopyTo(buffer);
        return count;
    }

    public byte[] ToArray() => _data.AsSpan(0, (int)Length).ToArray();

    public FileBytes Clone()
    {
        var copy = new FileBytes();
        copy.SetLength(Length);
        _data.AsSpan(0, (int)Length).CopyTo(copy._data);
        return copy;
    }

    private void SetLength(long length)
    {
        if (length > _data.Length)
            Array.Resize(ref _data, (int)Math.Max(length, Math.Min(2L * _data.Length, int.MaxValue / 2)));
        if (length < Length)
            _data.AsSpan((int)length, (int)(Length - length)).Clear();
        Length = length;
    }
}
