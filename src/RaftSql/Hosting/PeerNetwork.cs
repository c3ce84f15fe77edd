using System.Collections.Concurrent;
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
internal sealed class PeerNetwork : IAsyncDisposable
{
    private readonly ulong _selfId;
    private readonly string _selfAddress;
    private readonly PeerSenderOptions _senderOptions;
    private readonly FaultInjector? _faults;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ConcurrentDictionary<ulong, string> _addresses = new();
    private readonly ConcurrentDictionary<ulong, PeerSender> _senders = new();
    private readonly object _gate = new();

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
