using System.CommandLine.Parsing;

namespace RaftSql.Cli.Input;

/// <summary>Parses --cluster "1@127.0.0.1:9001,2@127.0.0.1:9002" into the founding members.</summary>
internal static class ClusterSpec
{
    public static NodeInfo[] Parse(ArgumentResult result)
    {
        var members = new List<NodeInfo>();
        foreach (var entry in result.Tokens.SelectMany(t =>
            t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            var at = entry.IndexOf('@');
            if (at <= 0 || !ulong.TryParse(entry.AsSpan(0, at), out var id) || id == 0
                || !AddressList.IsHostPort(entry[(at + 1)..]))
            {
                result.AddError($"'{entry}' is not a member of the form id@host:port (id > 0).");
                return [];
            }
            if (members.Any(m => m.Id == id))
            {
                result.AddError($"Node id {id} appears twice in --cluster.");
                return [];
            }
            members.Add(new NodeInfo(id, entry[(at + 1)..]));
        }
        return [.. members];
    }
}
