using RaftSql.Hosting;
using RaftSql.Storage;

namespace RaftSql.Simulation;

/// <summary>What a node does with its simulated disk: open the log store on it, crash it, and tell a failure the
/// disk caused (which the node must report and stop on) from any other (a bug).</summary>
internal sealed partial class SimNode
{
    /// <summary>Opens the log store; null when a bit flipped in a read refused the open (retried by a restart).</summary>
    private RaftLogStore? OpenStore(string raftDirectory)
    {
        Disk.FlipNextSegmentRead = Disk.MarkCurrent && Incarnation > 1 && _cluster.DiskRandom.Next(4) == 0;
        if (Disk.FlipNextSegmentRead)
            _cluster.Trace.Add($"node {Id}: a bit flips in the first log read of its recovery");
        try
        {
            var store = new RaftLogStore(SegmentedLog.Open(Disk, raftDirectory), new HardStateStore(raftDirectory, Disk));
            Disk.Opened();
            return store;
        }
        catch (SimulatedCrash)
        {
            CrashDisk();
            _cluster.Crashed(this);
            return null;
        }
        catch (RaftSqlException ex) when (ex.Code == RaftSqlErrorCode.CorruptLog && Disk.FlipsSinceCrash > 0)
        {
            _cluster.Trace.Add($"node {Id} refuses to open its log after a bit flip: {WithoutRoot(ex.Message)}");
            CrashDisk();
            _cluster.Crashed(this);
            return null;
        }
    }

    /// <summary>The seed's directory has a random name: traces must not carry it (one seed, one trace hash).</summary>
    private string WithoutRoot(string message) => message.Replace(Directory, $"n{Id}", StringComparison.Ordinal);

    private void CrashDisk()
    {
        var powerLoss = Disk.PowerLossPending || _cluster.DiskRandom.Next(2) == 0;
        if (powerLoss)
            _cluster.DiskStats.PowerLosses++;
        Disk.Crash(powerLoss);
    }

    /// <summary>A batch that met ENOSPC or read a flipped bit and still ended well: the node went on past a write
    /// it does not have, or used bytes it did not check.</summary>
    private void ThrowIfDiskFaultIgnored()
    {
        if (Disk.FullErrorsSinceCrash > 0)
            throw new SimulationFailure($"Node {Id} met a full disk and its loop went on.");
        if (Disk.FlipsSinceCrash > 0)
            throw new SimulationFailure($"Node {Id} read a flipped bit from its log and its loop went on.");
    }

    /// <summary>
    /// True when <paramref name="failure"/> is the node's right answer to an injected disk fault: the loop stops
    /// with NodeStopped naming a full disk (ENOSPC on a write or an fsync, or the log refusing use after one), or
    /// naming a record whose checksum failed after a bit flip on read.
    /// </summary>
    private bool DiskFaultExplains(RaftSqlException failure)
    {
        if (failure.Code != RaftSqlErrorCode.NodeStopped)
            return false;
        for (Exception? e = failure.InnerException; e is not null; e = e.InnerException)
        {
            if (e is SimDiskFullException)
                return true;
            if (e is InvalidOperationException && Disk.FullErrorsSinceCrash > 0 && e.Message.Contains("earlier I/O error", StringComparison.Ordinal))
                return true;
            if (e is RaftSqlException { Code: RaftSqlErrorCode.CorruptLog } && Disk.FlipsSinceCrash > 0)
                return true;
        }
        return false;
    }
}
