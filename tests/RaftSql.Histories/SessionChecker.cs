namespace RaftSql.Histories;

/// <summary>
/// Checks session guarantees on a register history whose results carry versions
/// (<see cref="RegisterResult.Version"/>: how many writes the key had seen, in commit order). Each process is one
/// session running one operation at a time. Per session and key: a read sees at least the version of the
/// session's own last acknowledged write (read your writes) and of anything the session saw before (monotonic
/// reads). Across all sessions: one version of a key is one value (no read sees a state that never existed).
/// </summary>
public static class SessionChecker
{
    /// <summary>Checks <paramref name="operations"/>; operations without a version are ignored.</summary>
    public static CheckResult Check(IEnumerable<Operation<RegisterCall, RegisterResult>> operations)
    {
        ArgumentNullException.ThrowIfNull(operations);
        var anomalies = new List<string>();
        var observed = operations.Where(o => o.IsOk && o.Result is { Version: not null, Succeeded: true }).ToList();

        var valueOf = new Dictionary<(long Key, long Version), Operation<RegisterCall, RegisterResult>>();
        foreach (var op in observed)
        {
            long? value = op.Call.Kind == RegisterOpKind.Read ? op.Result!.Value : op.Call.Value;
            var at = (op.Call.Key, op.Result!.Version!.Value);
            if (!valueOf.TryAdd(at, op))
            {
                var first = valueOf[at];
                long? firstValue = first.Call.Kind == RegisterOpKind.Read ? first.Result!.Value : first.Call.Value;
                if (firstValue != value)
                    anomalies.Add($"key {at.Key} version {at.Item2} holds {RegisterCall.Show(firstValue)} for op {first.Id} but {RegisterCall.Show(value)} for op {op.Id}");
            }
        }

        foreach (var session in observed.GroupBy(o => o.Process))
        {
            var floor = new Dictionary<long, (long Version, bool OwnWrite, long OpId)>();
            foreach (var op in session.OrderBy(o => o.Invoked).ThenBy(o => o.Id))
            {
                long key = op.Call.Key;
                long version = op.Result!.Version!.Value;
                if (floor.TryGetValue(key, out var before) && version < before.Version)
                {
                    string why = before.OwnWrite ? "does not see the session's own acknowledged write" : "goes back";
                    anomalies.Add($"session {session.Key}, key {key}: op {op.Id} {op.Call} saw version {version}, which {why} (version {before.Version}, op {before.OpId})");
                }
                if (!floor.TryGetValue(key, out before) || version >= before.Version)
                    floor[key] = (version, op.Call.Kind != RegisterOpKind.Read, op.Id);
            }
        }
        return new CheckResult(anomalies);
    }
}
