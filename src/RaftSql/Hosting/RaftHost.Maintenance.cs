using RaftSql.Raft;

namespace RaftSql.Hosting;

/// <summary>
/// Background upkeep: make the databases durable (fsync, then record the applied index) so the Raft log
/// can be compacted below that point. A node that falls behind the compacted log gets a snapshot.
/// </summary>
internal sealed partial class RaftHost
{
    private ulong _lastConfChangeIndex;

    public async Task RunMaintenanceAsync(CancellationToken stopping)
    {
        var interval = TimeSpan.FromMilliseconds(Math.Max(200, _options.HeartbeatInterval.TotalMilliseconds * 5));
        using var timer = new PeriodicTimer(interval, _runtime.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
                MaintainOnce();
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>One round of upkeep (the simulator calls it at steps of its choosing).</summary>
    internal void MaintainOnce()
    {
        try
        {
            Post(_store.FlushCommit);
            var status = _status;
            if (status.Applied - Math.Min(status.Applied, _store.FirstIndex) < (ulong)_options.CompactionThreshold)
                return;
            _engine.FlushDurable();
            var durable = _engine.DurableIndex();
            Post(() => Compact(durable));
        }
        catch (Exception ex) when (ex is IOException or RaftSqlException or ObjectDisposedException)
        {
            HostLog.MaintenanceFailed(_logger, ex);
        }
    }

    /// <summary>On the loop thread: drop log entries that every database has durably applied, keeping
    /// a tail so that briefly lagging followers still catch up from the log.</summary>
    private void Compact(ulong durable)
    {
        var keep = (ulong)_options.CompactionThreshold / 2;
        var point = Math.Min(durable, _applied);
        point = point > keep ? point - keep : 0;
        // The compaction point records the membership then; it is only known for points at or after the
        // last membership change, where it equals the current membership.
        if (point < _lastConfChangeIndex)
        {
            if (_lastConfChangeIndex > Math.Min(durable, _applied))
                return;
            point = _lastConfChangeIndex;
        }
        if (point < _store.FirstIndex)
            return;
        _store.CompactBefore(point + 1, _core.Status.Membership);
        HostLog.Compacted(_logger, point + 1);
    }

    private void NoteApplied(Entry entry)
    {
        if (entry.Type == EntryType.ConfChange)
            _lastConfChangeIndex = entry.Index;
    }
}
