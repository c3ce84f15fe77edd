namespace RaftSql.Cli.Output;

/// <summary>The process exit codes of raftsql.</summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The cluster or node refused or failed the operation (a RaftSqlException).</summary>
    public const int OperationFailed = 1;

    /// <summary>The command line or a file named on it is wrong.</summary>
    public const int InvalidInput = 2;

    /// <summary>Stopped by Ctrl+C / SIGTERM before it finished.</summary>
    public const int Cancelled = 130;
}
