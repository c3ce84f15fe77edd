namespace RaftSql.Simulation;

/// <summary>
/// Product bugs the simulator finds whose fix belongs to another branch. Their anomalies are counted and
/// printed but do not fail the default run; RAFTSQL_NODESIM_STRICT=1 fails on them too.
///
/// Restart read gate (engine, fix-engine branch): a restarted node serves reads once it has replayed to the
/// commit index in its hard state, but that index is saved lazily (RaftLogStore.FlushCommit), so it can be
/// far behind what the node applied and served before the crash; the node then serves (Local and Session)
/// a state older than one it served before. Seen on seeds 10, 26, 27 of the first 50 (for example seed 26:
/// node 2 applied 16 and served index 9 to client 1, crashed, restarted with start commit 7 and served the
/// setup state at index 7). Replay: RAFTSQL_NODESIM_STRICT=1 RAFTSQL_NODESIM_SEED=26 dotnet test
/// tests/RaftSql.Simulation --filter "FullyQualifiedName~Seeded_whole_node".
/// </summary>
internal static class KnownFailures
{
    public static bool Strict => Environment.GetEnvironmentVariable("RAFTSQL_NODESIM_STRICT") == "1";
}
