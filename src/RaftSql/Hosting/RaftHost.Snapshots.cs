using RaftSql.Protocol;
using RaftSql.Raft;
using RaftSql.Transport;
using SnapshotMetadata = RaftSql.Raft.SnapshotMetadata;

namespace RaftSql.Hosting;

/// <summary>
/// Snapshots travel out of band: the core only says "node X needs a snapshot". The leader streams the
/// engine's snapshot (database files plus WAL frames) on a dedicated peer connection in chunks, then the
/// Raft Snapshot message with its metadata; the follower stages the chunks in a file and steps the
/// message into its core only when the data for exactly that index is complete.
/// </summary>
internal sealed partial class RaftHost
{
    private readonly Dictionary<ulong, Task> _snapshotSends = [];
    // Received snapshots whose message was stepped into the core, by index (loop thread only).
    private readonly Dictionary<ulong, StagedSnapshot> _staged = [];
    private long _snapshotSequence;

    private string SnapshotDirectory => Path.Combine(_options.DataDirectory, "snapshots");

    /// <summary>Raised on the loop thread just before a received snapshot replaces the databases: every
    /// connection to them must close.</summary>
    public event Action? InstallingSnapshot;

    private void StartSnapshotSend(Message request)
    {
        if (_snapshotSends.ContainsKey(request.To))
            return;
        // The metadata must describe what the files hold: never a point inside a big transaction whose chunks are
        // staged (or our own, applied as such), since no snapshot holds them and the installer would get the rest only.
        var point = _engine.SnapshotPoint(_applied);
        if (point < _lastConfChangeIndex || point < _store.Snapshot().Index)
        {
            // The membership at that point is not known (or its entries are gone): ask again after a heartbeat.
            HostLog.SnapshotDeferred(_logger, request.To, point, _applied);
            Post(() => _core.ReportSnapshot(request.To, false));
            return;
        }
        var metadata = new SnapshotMetadata(point, _store.Term(point), _core.Status.Membership);
        var message = request with { Snapshot = metadata };
        _snapshotSends[request.To] = _runtime.Run(() => SendSnapshotAsync(message), CancellationToken.None);
    }

    private async Task SendSnapshotAsync(Message message)
    {
        var to = message.To;
        var success = false;
        var path = Path.Combine(SnapshotDirectory, $"out-{to}-{Interlocked.Increment(ref _snapshotSequence)}.tmp");
        try
        {
            HostLog.SnapshotSending(_logger, message.Snapshot!.Index, to);
            Directory.CreateDirectory(SnapshotDirectory);
            // Disposed synchronously: this already runs off the loop, and a FileStream's DisposeAsync would
            // resume on the thread pool (which the whole-node simulator cannot order).
            using (var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16))
            {
                if (_engine.WriteSnapshot(file) < message.Snapshot!.Index)
                    throw new RaftSqlException(RaftSqlErrorCode.SnapshotFailed, $"The databases are not consistent at index {message.Snapshot.Index}.");
            }
            await Network.SendSnapshotAsync(message, path, _stopping.Token).ConfigureAwait(false);
            success = true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            HostLog.SnapshotSendFailed(_logger, to, ex);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        finally
        {
            TryDelete(path);
            Post(() =>
            {
                _snapshotSends.Remove(to);
                _core.ReportSnapshot(to, success);
            });
        }
    }

    /// <summary>Serves one incoming peer connection: Raft messages and snapshot streams.</summary>
    public async Task ServePeerAsync(Connection connection, CancellationToken stopping)
    {
        StagedSnapshot? staging = null;
        try
        {
            while (await connection.ReceiveAsync(PeerEnvelope.Parser, stopping).ConfigureAwait(false) is { } envelope)
            {
                if (connection.RemoteNodeId != 0 && Network.AddressOf(connection.RemoteNodeId) is null)
                    Network.Learn(connection.RemoteNodeId, envelope.SenderAddress);
                switch (envelope.BodyCase)
                {
                    case PeerEnvelope.BodyOneofCase.Raft:
                        var message = WireMapper.FromWire(envelope.Raft);
                        if (message.Type != MessageType.Snapshot)
                        {
                            Receive(message);
                        }
                        else if (staging is { IsComplete: true } complete && complete.Index == message.Snapshot?.Index)
                        {
                            staging = null;
                            AcceptSnapshot(complete, message);
                        }
                        break;
                    case PeerEnvelope.BodyOneofCase.SnapshotChunk:
                        staging ??= StagedSnapshot.Begin(SnapshotDirectory, envelope.SnapshotChunk);
                        staging.Append(envelope.SnapshotChunk);
                        break;
                    default:
                        throw new RaftSqlException(RaftSqlErrorCode.ProtocolError, "Empty peer envelope.");
                }
            }
        }
        catch (RaftSqlException ex) when (ex.Code is RaftSqlErrorCode.ProtocolError or RaftSqlErrorCode.SnapshotFailed)
        {
            HostLog.BadPeerMessage(_logger, connection.RemoteNodeId, ex);
            throw;
        }
        finally
        {
            staging?.Dispose();
        }
    }

    /// <summary>A snapshot's data arrived in full, then its message: the core decides whether to install it.</summary>
    internal void AcceptSnapshot(StagedSnapshot complete, Message message) => Post(() =>
    {
        if (_staged.Remove(complete.Index, out var older))
            older.Dispose();
        _staged[complete.Index] = complete;
        _core.Step(message);
    });

    /// <summary>On the loop thread: the core accepted a snapshot; replace the databases with the staged data.</summary>
    private void InstallStagedSnapshot(SnapshotMetadata snapshot)
    {
        if (!_staged.Remove(snapshot.Index, out var staged))
            throw new InvalidOperationException($"The core accepted snapshot {snapshot.Index} but no data is staged for it.");
        // Whatever else was staged is older or was refused: it will not be installed.
        foreach (var other in _staged.Values)
            other.Dispose();
        _staged.Clear();
        using (staged)
        {
            // A follower installing a snapshot has no write that can still commit locally: release any
            // writer first, so that closing the connections never waits on this very loop.
            _engine.CutTails(new RaftSqlException(RaftSqlErrorCode.NotLeader, "This node is installing a snapshot from the leader."));
            InstallingSnapshot?.Invoke();
            using var stream = staged.OpenRead();
            _engine.InstallSnapshot(stream);
        }
        Volatile.Write(ref _applied, snapshot.Index);
        HostLog.SnapshotInstalled(_logger, snapshot.Index);
    }

    /// <summary>Staged snapshots the core refused (it already had their entries) are deleted.</summary>
    private void DropStaleSnapshots()
    {
        if (_staged.Count == 0)
            return;
        foreach (var index in _staged.Keys.Where(i => i <= _applied).ToList())
        {
            _staged[index].Dispose();
            _staged.Remove(index);
        }
    }

    private async Task StopSnapshotsAsync()
    {
        var sends = _snapshotSends.Values.ToArray();
        try
        {
            await Task.WhenAll(sends).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Abandoned: the connections close with the node.
        }
        foreach (var staged in _staged.Values)
            staged.Dispose();
        _staged.Clear();
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // A leftover temp file is harmless: the snapshots folder is swept on start.
        }
    }
}
