namespace RaftSql.Raft.Tests.Simulation;

/// <summary>A violated invariant, with the simulated moment it was detected.</summary>
internal sealed class SimulationFailure(string message) : Exception(message);
