using System.Net;
using Microsoft.Extensions.Logging;
using RaftSql.Protocol;

namespace RaftSql.Transport;

/// <summary>Every log line the transport writes, with stable event ids (3000-3099).</summary>
internal static partial class TransportLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Transport of node {NodeId} listening on {EndPoint}")]
    public static partial void Listening(ILogger logger, ulong nodeId, EndPoint endPoint);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Transport of node {NodeId} stopped")]
    public static partial void Stopped(ILogger logger, ulong nodeId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Closing connection from {EndPoint}: {Reason}")]
    public static partial void ProtocolViolation(ILogger logger, EndPoint? endPoint, string reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Refused handshake from {EndPoint}: {Status} (kind {Kind}, version {Version})")]
    public static partial void HandshakeRefused(ILogger logger, EndPoint? endPoint, HandshakeStatus status, ProtocolKind kind, ushort version);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Connection from {EndPoint} did not complete the handshake in time")]
    public static partial void HandshakeTimedOut(ILogger logger, EndPoint? endPoint);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Debug, Message = "Connection from {EndPoint} lost: {Reason}")]
    public static partial void ConnectionLost(ILogger logger, EndPoint? endPoint, string reason);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Error, Message = "Handler for {Kind} connection from {EndPoint} failed")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, ProtocolKind kind, EndPoint? endPoint);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Connected to peer {PeerId} at {Address}")]
    public static partial void PeerConnected(ILogger logger, ulong peerId, string address);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Debug, Message = "Cannot reach peer {PeerId} at {Address}, retrying in {Backoff}: {Reason}")]
    public static partial void PeerConnectFailed(ILogger logger, ulong peerId, string address, TimeSpan backoff, string reason);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Information, Message = "Connection to peer {PeerId} at {Address} lost ({Lost} messages not delivered): {Reason}")]
    public static partial void PeerConnectionLost(ILogger logger, ulong peerId, string address, int lost, string reason);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Warning, Message = "Dropped a message for peer {PeerId} that cannot be sent: {Reason}")]
    public static partial void PeerMessageRejected(ILogger logger, ulong peerId, string reason);

    [LoggerMessage(EventId = 3020, Level = LogLevel.Debug, Message = "Client connection to {Address} lost; failing {Pending} pending requests: {Reason}")]
    public static partial void ClientConnectionLost(ILogger logger, string address, int pending, string reason);

    [LoggerMessage(EventId = 3021, Level = LogLevel.Warning, Message = "Client connection to {Address} closed after bad input: {Reason}")]
    public static partial void ClientProtocolViolation(ILogger logger, string address, string reason);

    [LoggerMessage(EventId = 3022, Level = LogLevel.Error, Message = "Handling a {Request} request from {EndPoint} failed; closing the connection")]
    public static partial void RequestFailed(ILogger logger, Exception exception, ClientRequest.RequestOneofCase request, EndPoint? endPoint);
}
