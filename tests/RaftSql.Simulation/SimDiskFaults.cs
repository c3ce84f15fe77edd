namespace RaftSql.Simulation;

/// <summary>Seeded disk faults while the workload runs: a node's disk fills up for a while, or its next read of
/// a log segment returns a flipped bit. Crashes (and what a power loss keeps) are decided by <see cref="SimDisk"/>.</summary>
internal static class SimDiskFaults
{
    private const long Ms = 1000;

    public static void Schedule(SimCluster cluster, long end)
    {
        var random = cluster.DiskRandom;
        var scheduler = cluster.Scheduler;
        for (var t = scheduler.Now + 150 * Ms; t < end; t += 200 * Ms + random.NextInt64(600 * Ms))
            scheduler.At(t, () => Inject(cluster, random));
        // The healed cluster settles and is checked on sound disks: nothing stays armed.
        scheduler.At(end, () =>
        {
            foreach (var node in cluster.Network.Nodes.Values)
                node.Disk.Disarm();
        });
    }

    private static void Inject(SimCluster cluster, Random random)
    {
        var nodes = cluster.Network.Nodes.Values.OrderBy(n => n.Id).ToList();
        var node = nodes[random.Next(nodes.Count)];
        switch (random.Next(5))
        {
            case 0 when node.IsUp && !node.Disk.Full:
                var until = cluster.Scheduler.Now + 20 * Ms + random.NextInt64(300 * Ms);
                cluster.Trace.Add($"disk of {node.Id} full until {until / 1000.0:F3}ms");
                node.Disk.Full = true;
                var disk = node.Disk;
                cluster.Scheduler.At(until, () => disk.Full = false);
                break;
            case 1 when node.IsUp:
                cluster.Trace.Add($"arm a bit flip in the next log read of {node.Id}");
                node.Disk.FlipNextSegmentRead = true;
                break;
            case 2 or 3 when node.IsUp:
                node.Disk.PowerLossAtSync = 1 + random.Next(4);
                cluster.Trace.Add($"arm a power loss of {node.Id} at its fsync number {node.Disk.PowerLossAtSync} from now");
                break;
        }
    }
}
