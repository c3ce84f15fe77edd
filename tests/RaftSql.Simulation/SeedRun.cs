namespace RaftSql.Simulation;

/// <summary>What one seed did: its figures, the hash of its trace, and why it failed if it did.</summary>
internal sealed record SeedResult(int Seed, int Size, long Events, int Acknowledged, int Reads, ulong Hash, double VirtualSeconds, string? Failure,
    int CrashPoints, DiskStats Disk, int MembershipCycles, int SnapshotCrashes)
{
    /// <summary>Runs <paramref name="seed"/> on a thread of its own (see <see cref="SimThread"/>).</summary>
    public static SeedResult Run(int seed, bool keepTrace = false) => SimThread.Run(() =>
    {
        using var sim = new SimCluster(seed, keepTrace);
        string? failure = null;
        try
        {
            sim.Run();
        }
        catch (Exception e)
        {
            failure = $"seed {sim.Seed} ({sim.Size} nodes) failed at {sim.Scheduler.Now / 1000.0:F3} ms: {e}\n"
                + $"Replay: {sim.ReplayCommand}\nLast events:\n{sim.Trace.Recent}"
                + (keepTrace ? "\nFull trace:\n" + string.Join("\n", sim.Trace.All) : "");
        }
        return new SeedResult(seed, sim.Size, sim.Trace.Count, sim.History.Acknowledged, sim.History.Reads, sim.Trace.Hash,
            sim.Scheduler.Now / 1e6, failure, sim.CrashPoints, sim.DiskStats, sim.Membership.Cycles, sim.SnapshotCrashes);
    });
}
