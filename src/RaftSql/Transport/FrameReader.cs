using System.Buffers;
using System.IO.Pipelines;
using Google.Protobuf;

namespace RaftSql.Transport;

/// <summary>
/// Reads frames from a pipe: a u32 big-endian body length, then that many bytes of one protobuf
/// message. The length is checked against the maximum before the body is awaited, so a hostile
/// prefix cannot make us buffer more than <see cref="TransportOptions.MaxMessageSize"/>.
/// Not thread-safe: one reader per connection.
/// </summary>
internal sealed class FrameReader
{
    public const int LengthPrefixSize = 4;

    private readonly PipeReader _reader;
    private readonly int _maxMessageSize;

    public FrameReader(PipeReader reader, int maxMessageSize)
    {
        _reader = reader;
        _maxMessageSize = maxMessageSize;
    }

    /// <summary>
    /// Reads the next message, or returns null when the peer closed the connection cleanly between
    /// messages. Throws <see cref="RaftSqlException"/> with <see cref="RaftSqlErrorCode.MessageTooLarge"/>
    /// for an oversized length and <see cref="RaftSqlErrorCode.ProtocolError"/> for a truncated or
    /// malformed message.
    /// </summary>
    public async ValueTask<T?> ReadAsync<T>(MessageParser<T> parser, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        while (true)
        {
            ReadResult result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            if (TryReadFrame(ref buffer, parser, out T? message))
            {
                _reader.AdvanceTo(buffer.Start);
                return message;
            }

            if (result.IsCompleted)
            {
                _reader.AdvanceTo(buffer.End);
                if (buffer.IsEmpty)
                {
                    return null;
                }

                throw new RaftSqlException(RaftSqlErrorCode.ProtocolError,
                    $"Connection closed in the middle of a message ({buffer.Length} bytes of it received).");
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Reads exactly <paramref name="destination"/>.Length raw bytes (the handshake);
    /// false when the connection ends first.</summary>
    public async ValueTask<bool> ReadExactlyAsync(byte[] destination, CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            if (buffer.Length >= destination.Length)
            {
                ReadOnlySequence<byte> wanted = buffer.Slice(0, destination.Length);
                wanted.CopyTo(destination);
                _reader.AdvanceTo(wanted.End);
                return true;
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return false;
            }
        }
    }

    private bool TryReadFrame<T>(ref ReadOnlySequence<byte> buffer, MessageParser<T> parser, out T? message)
        where T : class, IMessage<T>
    {
        message = null;
        var sequenceReader = new SequenceReader<byte>(buffer);
        if (!sequenceReader.TryReadBigEndian(out int signedLength))
        {
            return false;
        }

        uint length = unchecked((uint)signedLength);
        if (length > (uint)_maxMessageSize)
        {
            throw new RaftSqlException(RaftSqlErrorCode.MessageTooLarge,
                $"Incoming message of {length} bytes exceeds the maximum of {_maxMessageSize} bytes.");
        }

        if (buffer.Length < LengthPrefixSize + length)
        {
            return false;
        }

        ReadOnlySequence<byte> body = buffer.Slice(LengthPrefixSize, length);
        try
        {
            message = parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new RaftSqlException(RaftSqlErrorCode.ProtocolError,
                $"Malformed {typeof(T).Name} message: {ex.Message}", ex);
        }

        buffer = buffer.Slice(body.End);
        return true;
    }
}
