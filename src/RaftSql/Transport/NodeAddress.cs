using System.Globalization;
using System.Net;

namespace RaftSql.Transport;

/// <summary>A "host:port" (or "[v6]:port") address as written in configuration.</summary>
internal readonly record struct NodeAddress(string Host, int Port)
{
    public static NodeAddress Parse(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (IPEndPoint.TryParse(address, out IPEndPoint? endPoint) && endPoint.Port != 0 && address.Contains(':'))
        {
            return new NodeAddress(endPoint.Address.ToString(), endPoint.Port);
        }

        int colon = address.LastIndexOf(':');
        // A bare IPv6 literal has colons but no port; it must be written as [v6]:port.
        if (colon <= 0 || address.AsSpan(0, colon).Contains(':') || !int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port)
            || port is < 1 or > 65535)
        {
            throw new FormatException($"'{address}' is not a host:port address.");
        }

        return new NodeAddress(address[..colon], port);
    }

    /// <summary>The addresses to try, in order: the literal itself, or what DNS says.</summary>
    public async Task<IPAddress[]> ResolveAsync(CancellationToken cancellationToken) =>
        IPAddress.TryParse(Host, out IPAddress? literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(Host, cancellationToken).ConfigureAwait(false);

    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
