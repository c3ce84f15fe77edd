namespace RaftSql.Transport;

/// <summary>
/// Serves one accepted connection until it ends. The server closes the connection when the handler
/// returns or throws; a <see cref="RaftSqlException"/> with ProtocolError or MessageTooLarge is
/// logged as bad input, not as a bug. <paramref name="stopping"/> fires when the server stops.
/// </summary>
internal delegate Task ConnectionHandler(Connection connection, CancellationToken stopping);
