using System.Text.Json;
using RaftSql.Cli.Output;
using CliUnderTest = RaftSql.Cli.Tests.CommandLine.Cli;

namespace RaftSql.Cli.Tests.Bench;

public sealed class BenchRunTests
{
    /// <summary>
    /// Figures whose loops may all start after a 0.2 s phase is over when the test host's thread pool is
    /// busy (the write loops run on pool threads): present, but possibly 0.
    /// </summary>
    private static readonly string[] PresentKeys =
    [
        "write_tps_1", "baseline_write_tps_1", "write_tps_32", "baseline_write_tps_32",
        "write_p50_ms", "write_p99_ms", "read_qps", "baseline_read_qps", "failover_ms_p50", "failover_ms_max",
        // 0 while the engine refuses transactions over one Raft entry (MessageTooLarge); the run goes on.
        "bulk_mib_s",
    ];

    /// <summary>Figures that are positive in any run: each read loop has a thread of its own, the baseline bulk runs inline.</summary>
    private static readonly string[] PositiveKeys =
    [
        "read_qps_16", "baseline_read_qps_16", "read_qps_lease", "read_qps_linearizable",
        "read_qps_leader_under_writes", "baseline_bulk_mib_s", "peak_rss_mb",
    ];

    [Fact]
    public async Task Bench_with_tiny_settings_writes_every_figure()
    {
        var directory = Directory.CreateTempSubdirectory("raftsql-bench-test-");
        try
        {
            var json = Path.Combine(directory.FullName, "figures.json");
            var cli = new CliUnderTest();

            var exit = await cli.RunAsync("bench", "--seconds", "0.2", "--failover-trials", "1", "--warmup-writes", "50",
                "--bulk-mib", "2", "--dir", directory.FullName, "--json", json);

            Assert.True(exit == ExitCodes.Success, cli.Error);
            var text = await File.ReadAllTextAsync(json);
            using var figures = JsonDocument.Parse(text);
            var root = figures.RootElement;
            foreach (var key in PresentKeys)
                Assert.True(root.GetProperty(key).GetDouble() >= 0, $"{key} should not be negative: {text}");
            foreach (var key in PositiveKeys)
                Assert.True(root.GetProperty(key).GetDouble() > 0, $"{key} should be positive: {text}");
            Assert.Contains("bulk", cli.Output, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFileSystemEntries(directory.FullName, "raftsql-bench-*"));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
