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
    private static readonly ConditionalWeakTable<SqliteConnection, Dictionary<string, PreparedRead>> Reads = [];

    /// <summary>A prepared read of <paramref name="sql"/> on <paramref name="connection"/>, run through SQLite's
    /// own API (see <see cref="PreparedRead"/>).</summary>
    public static PreparedRead GetRead(SqliteConnection connection, string sql)
    {
        var cache = Reads.GetOrCreateValue(connection);
        if (cache.TryGetValue(sql, out var read))
            return read;
        if (cache.Count >= Capacity)
        {
            foreach (var old in cache.Keys.Take(Capacity / 2).ToList())
            {
                cache[old].Dispose();
                cache.Remove(old);
            }
        }
        read = PreparedRead.Prepare(connection, sql);
        cache[sql] = read;
        return read;
    }

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
        if (Reads.TryGetValue(connection, out var reads))
        {
            foreach (var read in reads.Values)
                read.Dispose();
            Reads.Remove(connection);
        }
        connection.Dispose();
    }
}
