using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace RaftSql.Gateway;

/// <summary>
/// Prepared read statements kept per pooled connection, so a repeated query skips SQLite's parser
/// (the usual cost of a point read). Bounded: the oldest half is dropped when full.
/// </summary>
internal static class StatementCache
{
    private const int Capacity = 64;
    private static readonly ConditionalWeakTable<SqliteConnection, Dictionary<string, SqliteCommand>> Caches = [];

    /// <summary>A prepared command for <paramref name="sql"/> on <paramref name="connection"/> (one user at a time,
    /// as the connection itself).</summary>
    public static SqliteCommand Get(SqliteConnection connection, string sql)
    {
        var cache = Caches.GetOrCreateValue(connection);
        if (cache.TryGetValue(sql, out var command))
            return command;
        if (cache.Count >= Capacity)
        {
            foreach (var old in cache.Keys.Take(Capacity / 2).ToList())
            {
                cache[old].Dispose();
                cache.Remove(old);
            }
        }
        command = connection.CreateCommand();
        command.CommandText = sql;
        cache[sql] = command;
        return command;
    }

    /// <summary>Disposes the cached statements, then the connection.</summary>
    public static void Close(SqliteConnection connection)
    {
        if (Caches.TryGetValue(connection, out var cache))
        {
            foreach (var command in cache.Values)
                command.Dispose();
            Caches.Remove(connection);
        }
        connection.Dispose();
    }
}
