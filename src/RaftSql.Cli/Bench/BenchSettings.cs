namespace RaftSql.Cli.Bench;

/// <summary>How long and how often `raftsql bench` measures, and where it works.</summary>
/// <param name="PhaseDuration">How long each write and read phase runs, per system.</param>
/// <param name="FailoverTrials">How many times the leader is stopped.</param>
/// <param name="WarmupWrites">Writes made (with 32 writers) before measuring, per system: a fresh WAL grows
/// and each fsync then also flushes file-size metadata; once it has wrapped, commits overwrite in place.</param>
/// <param name="Directory">Where the cluster's data directories and the baseline file go (the same disk).</param>
/// <param name="JsonPath">Where to write the figures as JSON, if anywhere.</param>
/// <param name="BulkMib">MiB of row payload the bulk phase inserts in one transaction, per system.</param>
internal sealed record BenchSettings(TimeSpan PhaseDuration, int FailoverTrials, int WarmupWrites, string Directory, string? JsonPath,
    int BulkMib = BenchSettings.DefaultBulkMib)
{
    public const int ManyWriters = 32;
    public const int DefaultBulkMib = 256;
}
