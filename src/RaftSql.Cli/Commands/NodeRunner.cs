using Microsoft.Extensions.Logging;
using RaftSql.Cli.Output;

namespace RaftSql.Cli.Commands;

/// <summary>Starts a node, joins it when asked, waits for the stop signal and stops it gracefully.</summary>
internal static class NodeRunner
{
    private static readonly TimeSpan JoinRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);

    public static async Task<int> RunAsync(NodeSettings settings, CancellationToken stopSignal)
    {
        using var loggerFactory = LoggerFactory.Create(builder => builder
            .SetMinimumLevel(settings.LogLevel)
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            }));
        var logger = loggerFactory.CreateLogger("raftsql");
        var node = new Node(new NodeOptions
        {
            Id = settings.Id,
            Address = settings.Address,
            BindAddress = settings.BindAddress,
            DataDirectory = settings.DataDirectory,
            InitialCluster = settings.InitialCluster,
            HeartbeatInterval = settings.HeartbeatInterval,
            ElectionTimeout = settings.ElectionTimeout,
            CommitTimeout = settings.CommitTimeout,
            LoggerFactory = loggerFactory,
        });
        await node.StartAsync(stopSignal).ConfigureAwait(false);
        try
        {
            CliLog.Serving(logger, settings.Id, settings.Address, Path.GetFullPath(settings.DataDirectory));
            if (settings.Join.Count > 0)
                await JoinAsync(settings, logger, stopSignal).ConfigureAwait(false);
            await Task.Delay(Timeout.Infinite, stopSignal).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopSignal.IsCancellationRequested)
        {
            // The stop signal: fall through to the graceful stop.
        }
        finally
        {
            CliLog.Stopping(logger, settings.Id);
            using var stopDeadline = new CancellationTokenSource(StopTimeout);
            await node.StopAsync(stopDeadline.Token).ConfigureAwait(false);
            CliLog.Stopped(logger, settings.Id);
        }
        return ExitCodes.Success;
    }

    /// <summary>Asks the cluster to add this node, retrying until it is a member (or the node is stopped).</summary>
    private static async Task JoinAsync(NodeSettings settings, ILogger logger, CancellationToken stopSignal)
    {
        CliLog.Joining(logger, string.Join(',', settings.Join), settings.Id, settings.JoinRole);
        await using var client = new ClusterClient(settings.Join, TimeSpan.FromSeconds(5));
        while (true)
        {
            try
            {
                // A restarted node is already a member: adding it again would be refused.
                var members = await client.GetClusterAsync(stopSignal).ConfigureAwait(false);
                if (!members.Any(m => m.Id == settings.Id))
                    await client.AddAsync(settings.Id, settings.Address, settings.JoinRole, stopSignal).ConfigureAwait(false);
                CliLog.Joined(logger, settings.Id);
                return;
            }
            catch (RaftSqlException ex)
            {
                CliLog.JoinRetry(logger, ex.Code, ex.Message);
            }
            await Task.Delay(JoinRetryDelay, stopSignal).ConfigureAwait(false);
        }
    }
}
