using System.IO.Pipelines;
using Google.Protobuf;
using RaftSql.Protocol;
using RaftSql.Transport;

namespace RaftSql.Tests.Transport;

public class FrameTests
{
    private const int MaxMessageSize = 1024;

    private readonly Pipe _pipe = new();

    private FrameReader Reader => new(_pipe.Reader, MaxMessageSize);

    private FrameWriter Writer => new(_pipe.Writer, MaxMessageSize);

    [Fact]
    public async Task Messages_written_with_one_flush_are_read_back_in_order()
    {
        var first = new PeerEnvelope
        {
            Raft = new RaftMessage
            {
                Type = RaftMessageType.Append, From = 1, To = 2, Term = 7, LogTerm = 6, Index = 10, Commit = 9,
                Entries = { new Entry { Term = 7, Index = 11, Type = 0, Data = ByteString.CopyFromUtf8("frames") } },
            },
        };
        var second = new PeerEnvelope { SnapshotChunk = new SnapshotChunk { SnapshotId = 3, Offset = 4096, Last = true } };
        FrameWriter writer = Writer;
        writer.Write(first);
        writer.Write(second);
        await writer.FlushAsync(CancellationToken.None);
        await _pipe.Writer.CompleteAsync();

        FrameReader reader = Reader;
        Assert.Equal(first, await reader.ReadAsync(PeerEnvelope.Parser, CancellationToken.None));
        Assert.Equal(second, await reader.ReadAsync(PeerEnvelope.Parser, CancellationToken.None));
        Assert.Null(await reader.ReadAsync(PeerEnvelope.Parser, CancellationToken.None));
    }

    [Fact]
    public async Task An_empty_message_is_a_valid_zero_length_frame()
    {
        FrameWriter writer = Writer;
        writer.Write(new ClientRequest());
        await writer.FlushAsync(CancellationToken.None);

        Assert.Equal(new ClientRequest(), await Reader.ReadAsync(ClientRequest.Parser, CancellationToken.None));
    }

    [Fact]
    public async Task A_length_beyond_the_maximum_fails_before_the_body_arrives()
    {
        // Only the prefix is written: the reader must refuse it without waiting for (or buffering) a body.
        await _pipe.Writer.WriteAsync(RawClient.LengthPrefix(MaxMessageSize + 1));

        var error = await Assert.ThrowsAsync<RaftSqlException>(
            () => Reader.ReadAsync(ClientRequest.Parser, CancellationToken.None).AsTask());
        Assert.Equal(RaftSqlErrorCode.MessageTooLarge, error.Code);
    }

    [Fact]
    public async Task A_message_cut_short_by_the_end_of_the_stream_is_a_protocol_error()
    {
        await _pipe.Writer.WriteAsync(RawClient.LengthPrefix(100));
        await _pipe.Writer.WriteAsync(new byte[10]);
        await _pipe.Writer.CompleteAsync();

        var error = await Assert.ThrowsAsync<RaftSqlException>(
            () => Reader.ReadAsync(ClientRequest.Parser, CancellationToken.None).AsTask());
        Assert.Equal(RaftSqlErrorCode.ProtocolError, error.Code);
    }

    [Fact]
    public async Task A_stream_ending_inside_the_length_prefix_is_a_protocol_error()
    {
        await _pipe.Writer.WriteAsync(new byte[] { 0, 0 });
        await _pipe.Writer.CompleteAsync();

        var error = await Assert.ThrowsAsync<RaftSqlException>(
            () => Reader.ReadAsync(ClientRequest.Parser, CancellationToken.None).AsTask());
        Assert.Equal(RaftSqlErrorCode.ProtocolError, error.Code);
    }

    [Fact]
    public async Task A_body_that_is_not_protobuf_is_a_protocol_error()
    {
        // Tag 0 is never valid in protobuf.
        await _pipe.Writer.WriteAsync(RawClient.LengthPrefix(3));
        await _pipe.Writer.WriteAsync(new byte[] { 0x00, 0x01, 0x02 });

        var error = await Assert.ThrowsAsync<RaftSqlException>(
            () => Reader.ReadAsync(ClientRequest.Parser, CancellationToken.None).AsTask());
        Assert.Equal(RaftSqlErrorCode.ProtocolError, error.Code);
    }

    [Fact]
    public void The_writer_refuses_a_message_the_receiver_would_refuse()
    {
        var tooBig = new PeerEnvelope { SnapshotChunk = new SnapshotChunk { Data = ByteString.CopyFrom(new byte[MaxMessageSize]) } };

        var error = Assert.Throws<RaftSqlException>(() => Writer.Write(tooBig));
        Assert.Equal(RaftSqlErrorCode.MessageTooLarge, error.Code);
    }
}
