namespace RaftSql.Cli.Output;

/// <summary>How `raftsql query` prints rows.</summary>
internal enum ResultFormat
{
    Table,
    Csv,
}
