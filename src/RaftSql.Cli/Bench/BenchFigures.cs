using System.Text.Json.Serialization;

namespace RaftSql.Cli.Bench;

/// <summary>One run's figures; the JSON names are stable so runs can be compared over time.</summary>
internal sealed record BenchFigures(
    [property: JsonPropertyName("write_tps_1")] double WriteTps1,
    [property: JsonPropertyName("baseline_write_tps_1")] double BaselineWriteTps1,
    [property: JsonPropertyName("write_tps_32")] double WriteTps32,
    [property: JsonPropertyName("baseline_write_tps_32")] double BaselineWriteTps32,
    [property: JsonPropertyName("write_p50_ms")] double WriteP50Ms,
    [property: JsonPropertyName("write_p99_ms")] double WriteP99Ms,
    [property: JsonPropertyName("read_qps")] double ReadQps,
    [property: JsonPropertyName("baseline_read_qps")] double BaselineReadQps,
    [property: JsonPropertyName("failover_ms_p50")] double FailoverMsP50,
    [property: JsonPropertyName("failover_ms_max")] double FailoverMsMax,
    [property: JsonPropertyName("read_qps_16")] double ReadQps16,
    [property: JsonPropertyName("baseline_read_qps_16")] double BaselineReadQps16,
    [property: JsonPropertyName("read_qps_lease")] double ReadQpsLease,
    [property: JsonPropertyName("read_qps_linearizable")] double ReadQpsLinearizable,
    [property: JsonPropertyName("read_qps_leader_under_writes")] double ReadQpsLeaderUnderWrites,
    [property: JsonPropertyName("bulk_mib_s")] double BulkMibS,
    [property: JsonPropertyName("baseline_bulk_mib_s")] double BaselineBulkMibS,
    [property: JsonPropertyName("peak_rss_mb")] double PeakRssMb)
{
    /// <summary>Write transactions per second the 32 writers made during the leader-under-writes read phase (printed only).</summary>
    [JsonIgnore]
    public double WriteTpsDuringLeaderReads { get; init; }

    /// <summary>How the bulk phase went, or why its figure is 0 (printed only).</summary>
    [JsonIgnore]
    public string BulkNote { get; init; } = "";
}
