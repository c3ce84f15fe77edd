using System.CommandLine.Parsing;

namespace RaftSql.Cli.Input;

/// <summary>Parses "host:port,host:port" lists given to --nodes and --join.</summary>
internal static class AddressList
{
    public static string[] Parse(ArgumentResult result)
    {
        var addresses = result.Tokens
            .SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .ToArray();
        foreach (var address in addresses)
        {
            if (!IsHostPort(address))
            {
                result.AddError($"'{address}' is not an address of the form host:port.");
                return [];
            }
        }
        if (addresses.Length == 0)
            result.AddError("At least one address (host:port) is required.");
        return addresses;
    }

    internal static bool IsHostPort(string address)
    {
        var colon = address.LastIndexOf(':');
        return colon > 0
            && int.TryParse(address.AsSpan(colon + 1), out var port)
            && port is > 0 and <= 65535;
    }
}
