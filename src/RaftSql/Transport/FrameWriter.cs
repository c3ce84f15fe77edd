using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;

namespace RaftSql.Transport;

/// <summary>
/// Writes frames (u32 big-endian length, then the protobuf body) into a pipe. <see cref="Write"/>
/// only buffers, so several messages can share one <see cref="FlushAsync"/>. Not thread-safe.
/// </summary>
internal sealed class FrameWriter
{
    private readonly PipeWriter _writer;
    private readonly int _maxMessageSize;

    public FrameWriter(PipeWriter writer, int maxMessageSize)
    {
        _writer = writer;
        _maxMessageSize = maxMessageSize;
    }

    /// <summary>Buffers one message; refuses one the receiver would refuse anyway.</summary>
    public void Write(IMessage message)
    {
        int size = message.CalculateSize();
        if (size > _maxMessageSize)
        {
            throw new RaftSqlException(RaftSqlErrorCode.MessageTooLarge,
                $"Outgoing {message.Descriptor.Name} of {size} bytes exceeds the maximum of {_maxMessageSize} bytes.");
        }

        int frameSize = FrameReader.LengthPrefixSize + size;
        Span<byte> frame = _writer.GetSpan(frameSize)[..frameSize];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)size);
        message.WriteTo(frame[FrameReader.LengthPrefixSize..]);
        _writer.Advance(frameSize);
    }

    /// <summary>Buffers raw bytes (the handshake).</summary>
    public void WriteRaw(ReadOnlySpan<byte> bytes) => _writer.Write(bytes);

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        FlushResult result = await _writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsCanceled)
        {
            throw new OperationCanceledException(cancellationToken);
        }
    }
}
