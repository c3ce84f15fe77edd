using Microsoft.Extensions.Logging;
using RaftSql.Raft;

namespace RaftSql.Hosting;

internal static partial class HostLog
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "Node {Id} became {State} in term {Term} (leader {Leader})")]
    public static partial void RoleChanged(ILogger logger, ulong id, RaftState state, ulong term, ulong leader);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Membership changed: {Membership}")]
    public static partial void MembershipChanged(ILogger logger, Membership membership);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Dropped a malformed message from peer {Peer}")]
    public static partial void BadPeerMessage(ILogger logger, ulong peer, Exception exception);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Error, Message = "The Raft loop failed; the node stops serving")]
    public static partial void LoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Sending a snapshot at index {Index} to node {Peer}")]
    public static partial void SnapshotSending(ILogger logger, ulong index, ulong peer);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning, Message = "Sending a snapshot to node {Peer} failed")]
    public static partial void SnapshotSendFailed(ILogger logger, ulong peer, Exception exception);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Information, Message = "Installed a snapshot at index {Index}")]
    public static partial void SnapshotInstalled(ILogger logger, ulong index);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Information, Message = "Compacted the Raft log below index {Index}")]
    public static partial void Compacted(ILogger logger, ulong index);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Warning, Message = "Background maintenance failed")]
    public static partial void MaintenanceFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4009, Level = LogLevel.Information, Message = "Started node {Id}: applied {Applied}, log [{First}, {Last}]")]
    public static partial void Started(ILogger logger, ulong id, ulong applied, ulong first, ulong last);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Information, Message = "Node {Id} replays entries {From} to {Commit} before it serves reads")]
    public static partial void Replaying(ILogger logger, ulong id, ulong from, ulong commit);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Information, Message = "Node {Id} has replayed up to {Commit} and serves reads")]
    public static partial void Replayed(ILogger logger, ulong id, ulong commit);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning, Message = "Dropped a snapshot stream from node {Peer}")]
    public static partial void SnapshotReceiveFailed(ILogger logger, ulong peer, Exception exception);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Debug, Message = "Snapshot for node {Peer} deferred: the databases are consistent only at {Point}, applied {Applied}")]
    public static partial void SnapshotDeferred(ILogger logger, ulong peer, ulong point, ulong applied);
}
