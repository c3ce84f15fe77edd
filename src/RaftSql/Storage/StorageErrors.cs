namespace RaftSql.Storage;

internal static class StorageErrors
{
    public static RaftSqlException Corrupt(string path, long offset, string reason) =>
        new(RaftSqlErrorCode.CorruptLog, $"Corrupt Raft storage file '{path}' at offset {offset}: {reason}.");

    public static RaftSqlException Corrupt(string path, string reason) =>
        new(RaftSqlErrorCode.CorruptLog, $"Corrupt Raft storage file '{path}': {reason}.");
}
