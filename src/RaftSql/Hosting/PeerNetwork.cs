using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using RaftSql.Protocol;
using RaftSql.Raft;
using RaftSql.Transport;

namespace RaftSql.Hosting;

/// <summary>
/// Outgoing Raft traffic: one <see cref="PeerSender"/> per peer, addressed through the membership,
/// or through the address a peer announced when the membership does not know it yet (a joining node
/// answering the leader).
/// </summary>
internal sealed class PeerNetwork : IPeerTransport
{
    private readonly ulong _selfId;
    private readonly string _selfAddress;
    private readonly PeerSenderOptions _senderOptions;
    private readonly FaultInjector? _faults;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ConcurrentDictionary<ulong, string> _addresses = new();
    private readonly ConcurrentDictionary<ulong, PeerSender> _senders = new();
    private readonly object _gate = new();
    private const int SnapshotChunkSize = 1024 * 1024;
    private long _snapshotSequence;

    public PeerNetwork(ulong selfId, string selfAddress, TransportOptions transport, FaultInjector? faults,
        ILoggerFactory loggerFactory)
    {
        _selfId = selfId;
        _selfAddress = selfAddress;
        _senderOptions = new PeerSenderOptions { Transport = transport };
        _faults = faults;
        _loggerFactory = loggerFactory;
    }

    public ulong SelfId => _selfId;

    public string SelfAddress => _selfAddress;

    public TransportOptions TransportOptions => _senderOptions.Transport;

    public FaultInjector? Faults => _faults;

    /// <summary>The address of <paramref name="id"/>, when known.</summary>
    public string? AddressOf(ulong id) => _addresses.GetValueOrDefault(id);

    /// <summary>The membership is authoritative for addresses: senders follow it.</summary>
    public void UpdateMembership(Membership membership)
    {
        foreach (var member in membership.Members)
        {
            if (member.Id != _selfId && !string.IsNullOrEmpty(member.Address))
                Learn(member.Id, member.Address);
        }
    }

    /// <summary>Records where <paramref name="id"/> can be reached, replacing a stale sender.</summary>
    public void Learn(ulong id, string address)
    {
        if (id == _selfId || string.IsNullOrEmpty(address))
            return;
        lock (_gate)
        {
            if (_addresses.TryGetValue(id, out var known) && known == address)
                return;
            _addresses[id] = address;
            if (_senders.TryRemove(id, out var stale))
                _ = stale.DisposeAsync().AsTask();
        }
    }

    /// <summary>Queues <paramref name="message"/>; false when the peer is unknown or not connected right now
    /// (the message may still go out once the connection is back).</summary>
    public bool Send(Message message)
    {
        var sender = SenderFor(message.To);
        if (sender is null)
            return false; // unknown address: Raft retries once the membership tells us where the peer is
        sender.TrySend(new PeerEnvelope { Raft = WireMapper.ToWire(message), SenderAddress = _selfAddress });
        return sender.IsConnected;
    }

    private PeerSender? SenderFor(ulong id)
    {
        if (_senders.TryGetValue(id, out var sender))
            return sender;
        lock (_gate)
        {
            if (_senders.TryGetValue(id, out sender))
                return sender;
            if (!_addresses.TryGetValue(id, out var address))
                return null;
            sender = new PeerSender(_selfId, id, address, _senderOptions, _faults, _loggerFactory);
            _senders[id] = sender;
            return sender;
        }
    }

    /// <summary>Streams a snapshot on a dedicated peer connection in chunks, then the Raft Snapshot message.</summary>
    public async Task SendSnapshotAsync(Message message, string path, CancellationToken cancellationToken)
    {
        var to = message.To;
        var address = AddressOf(to)
            ?? throw new RaftSqlException(RaftSqlErrorCode.SnapshotFailed, $"The address of node {to} is unknown.");
        if (_faults?.Decide(_selfId, to).Deliver == false)
            throw new RaftSqlException(RaftSqlErrorCode.Unavailable, $"Node {to} is unreachable (fault injection).");
        await using var connection = await Connection.ConnectAsync(address, ProtocolKind.Peer, _selfId,
            TransportOptions, cancellationToken).ConfigureAwait(false);
        await using var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var wireMetadata = WireMapper.ToWire(message.Snapshot!);
        var snapshotId = (ulong)Interlocked.Increment(ref _snapshotSequence);
        var buffer = new byte[SnapshotChunkSize];
        long offset = 0;
        while (true)
        {
            var read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            var last = offset + read >= source.Length;
            var chunk = new SnapshotChunk
            {
                SnapshotId = snapshotId,
                Offset = (ulong)offset,
                Data = ByteString.CopyFrom(buffer, 0, read),
                Last = last,
                Metadata = offset == 0 ? wireMetadata : null,
                From = _selfId,
                To = to,
                Term = message.Term,
            };
            await connection.SendAsync(new PeerEnvelope { SnapshotChunk = chunk, SenderAddress = _selfAddress }, cancellationToken).ConfigureAwait(false);
            offset += read;
            if (last)
                break;
        }
        await connection.SendAsync(new PeerEnvelope { Raft = WireMapper.ToWire(message), SenderAddress = _selfAddress }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        List<PeerSender> senders;
        lock (_gate)
        {
            senders = [.. _senders.Values];
            _senders.Clear();
        }
        foreach (var sender in senders)
            await sender.DisposeAsync().ConfigureAwait(false);
    }
}
