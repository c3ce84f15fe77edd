namespace RaftSql.Cli.Output;

/// <summary>Runs a command's body and turns the failures a user can meet into one clear line and an exit code.</summary>
internal static class Guarded
{
    public static async Task<int> RunAsync(CliConsole console, Func<Task<int>> body, CancellationToken cancellationToken)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (RaftSqlException ex)
        {
            await console.Error.WriteLineAsync($"error: {ex.Code}: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.OperationFailed;
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            // E.g. a host name in an address that does not resolve.
            await console.Error.WriteLineAsync($"error: {ex.SocketErrorCode}: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.OperationFailed;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await console.Error.WriteLineAsync("cancelled").ConfigureAwait(false);
            return ExitCodes.Cancelled;
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or UnauthorizedAccessException)
        {
            await console.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.InvalidInput;
        }
    }
}
