namespace RaftSql.Raft.Tests.Simulation;

/// <summary>What a run exercised, to show that the chaos reached the interesting paths.</summary>
internal sealed class SimulationStats
{
    private readonly object _gate = new();

    public long LeadersElected { get; set; }
    public long WritesAcknowledged { get; set; }
    public long ReadsServed { get; set; }
    public long ConfChangesCommitted { get; set; }
    public long SnapshotsInstalled { get; set; }
    public long TimeoutNowDelivered { get; set; }
    public long Crashes { get; set; }
    public long Promotions { get; set; }
    public long LeaderSelfRemovals { get; set; }
    public long LeaseChecks { get; set; }

    public void Add(SimulationStats other)
    {
        lock (_gate)
        {
            LeadersElected += other.LeadersElected;
            WritesAcknowledged += other.WritesAcknowledged;
            ReadsServed += other.ReadsServed;
            ConfChangesCommitted += other.ConfChangesCommitted;
            SnapshotsInstalled += other.SnapshotsInstalled;
            TimeoutNowDelivered += other.TimeoutNowDelivered;
            Crashes += other.Crashes;
            Promotions += other.Promotions;
            LeaderSelfRemovals += other.LeaderSelfRemovals;
            LeaseChecks += other.LeaseChecks;
        }
    }

    public override string ToString() =>
        $"leaders elected {LeadersElected}, writes acknowledged {WritesAcknowledged}, reads served {ReadsServed}, " +
        $"membership changes committed {ConfChangesCommitted} (standbys promoted {Promotions}, self-removals proposed by leaders {LeaderSelfRemovals}), snapshots installed {SnapshotsInstalled}, " +
        $"TimeoutNow delivered {TimeoutNowDelivered}, crashes {Crashes}, steps with a valid lease checked {LeaseChecks}";
}
