namespace RaftSql.Simulation;

/// <summary>
/// Product bugs the simulator finds whose fix belongs to another branch. Their anomalies are counted and
/// printed but do not fail the default run; RAFTSQL_NODESIM_STRICT=1 fails on them too.
///
/// Restart read gate (engine, fix-engine branch): a restarted node serves reads once it has replayed to the
/// commit index in its hard state, but that index is saved lazily (RaftLogStore.FlushCommit), so it can be
/// far behind what the node applied and served before the crash; the node then serves (Local and Session)
/// a state older than one it served before. Seen on 20 of the 300 default seeds (1, 5, 26, 44, 56, 58, 66, 100,
/// 133, 149, 168, 202, 236, 237, 238, 244, 265, 271, 274, 281; the set moves as the workload changes). Seed 26:
/// node 2 applied 94 and served a Linearizable read at 2074 ms, crashed at 2088 ms, restarted with start commit
/// 86 (and again after dying in replay) and at 3273 ms served a Local read missing 5 appends it had shown.
/// Replay: RAFTSQL_NODESIM_STRICT=1 RAFTSQL_NODESIM_SEED=26 dotnet test
/// tests/RaftSql.Simulation --filter "FullyQualifiedName~Seeded_whole_node".
/// </summary>
internal static class KnownFailures
{
    public static bool Strict => Environment.GetEnvironmentVariable("RAFTSQL_NODESIM_STRICT") == "1";
}
