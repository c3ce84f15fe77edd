using RaftSql.Data.Channels;

namespace RaftSql.Data;

/// <summary>ADO.NET access to a <see cref="Node"/> hosted in this process.</summary>
public static class NodeExtensions
{
    /// <summary>
    /// A closed connection to <paramref name="database"/> bound to <paramref name="node"/>: reads run on this
    /// node's database file at <paramref name="readConsistency"/>, writes go to the leader. The node must be
    /// started before the connection opens.
    /// </summary>
    public static RaftSqlConnection CreateConnection(this Node node, string database,
        ReadConsistency readConsistency = ReadConsistency.Session)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentException.ThrowIfNullOrWhiteSpace(database);
        var settings = new RaftSqlConnectionStringBuilder { Database = database, ReadConsistency = readConsistency };
        return new RaftSqlConnection(settings.ConnectionString, $"node {node.Id} ({node.Address})",
            s => new InProcessChannel(node, TimeSpan.FromSeconds(s.ConnectTimeout)));
    }
}
