using System.Collections.Concurrent;
using RaftSql.Transport;

namespace RaftSql.Data.Channels;

/// <summary>
/// Idle client connections kept open per node address, so opening a <see cref="RaftSqlConnection"/>
/// does not pay for a TCP connect and handshake each time.
/// </summary>
internal static class ConnectionPool
{
    private static readonly ConcurrentDictionary<string, ConcurrentBag<ClientConnection>> Idle = new(StringComparer.OrdinalIgnoreCase);

    public static ClientConnection? TryRent(string address)
    {
        if (!Idle.TryGetValue(address, out var bag))
            return null;
        while (bag.TryTake(out var connection))
        {
            if (connection.IsOpen)
                return connection;
            _ = connection.DisposeAsync().AsTask();
        }
        return null;
    }

    public static async ValueTask ReturnAsync(ClientConnection connection)
    {
        if (connection.IsOpen)
            Idle.GetOrAdd(connection.Address, _ => []).Add(connection);
        else
            await connection.DisposeAsync().ConfigureAwait(false);
    }

    public static async Task ClearAsync()
    {
        foreach (var bag in Idle.Values)
        {
            while (bag.TryTake(out var connection))
                await connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
