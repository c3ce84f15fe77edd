using RaftSql.Data;
// RaftSql.Cli.RaftSqlCommand is the command-line tree; this is the provider's command.
using ProviderCommand = RaftSql.Data.RaftSqlCommand;

namespace RaftSql.Cli.Bench;

/// <summary>
/// One point reader through the ADO.NET provider bound to an in-process node (its own
/// <see cref="RaftSqlConnection"/>), at one read consistency.
/// </summary>
internal sealed class ProviderReader : IAsyncDisposable
{
    private readonly RaftSqlConnection _connection;
    private readonly ProviderCommand _read;
    private readonly RaftSqlParameter _id;

    private ProviderReader(RaftSqlConnection connection)
    {
        _connection = connection;
        _read = connection.CreateCommand();
        _read.CommandText = Workload.PointRead;
        _id = _read.Parameters.AddWithValue("@id", 0L);
    }

    public static async Task<ProviderReader> OpenAsync(Node node, ReadConsistency consistency)
    {
        var connection = node.CreateConnection(Workload.Database, consistency);
        await connection.OpenAsync().ConfigureAwait(false);
        return new ProviderReader(connection);
    }

    /// <summary><paramref name="count"/> readers on <paramref name="node"/>, each with its own connection.</summary>
    public static async Task<ProviderReader[]> OpenManyAsync(Node node, ReadConsistency consistency, int count)
    {
        var readers = new ProviderReader[count];
        for (var i = 0; i < count; i++)
            readers[i] = await OpenAsync(node, consistency).ConfigureAwait(false);
        return readers;
    }

    /// <summary>Reads row <paramref name="id"/>; checks the answer, so a wrong fast path cannot look good.</summary>
    public async Task ReadAsync(long id)
    {
        _id.Value = id;
        if (await _read.ExecuteScalarAsync().ConfigureAwait(false) is not string)
            throw new InvalidOperationException($"Row {id} was not found through the provider.");
    }

    public async ValueTask DisposeAsync()
    {
        await _read.DisposeAsync().ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
    }
}
