using RaftSql.Storage;

namespace RaftSql.Simulation;

/// <summary>
/// The Raft log store alone on the simulated disk, many seeds of random appends (with overwrites), syncs,
/// compactions and snapshot resets, with power losses at seeded fsyncs, full disks and bit flips on read.
/// After every crash the reopened log must hold every record a returned Sync covered, hold nothing the
/// writer did not write last at that index, and a read must never return a changed record.
/// </summary>
public class SimDiskLogTests
{
    private const string Directory = "/sim/raft";
    private static readonly List<string> Steps = [];

    [Fact]
    public void The_log_keeps_every_synced_record_through_power_losses_full_disks_and_bit_flips()
    {
        var stats = new DiskStats();
        var seeds = int.TryParse(Environment.GetEnvironmentVariable("RAFTSQL_DISKSIM_SEEDS"), out var n) ? n : 400;
        for (var seed = 0; seed < seeds; seed++)
            RunSeed(seed, stats);
        Assert.True(stats.PowerLosses > 100 && stats.Torn > 0 && stats.Lost > 0 && stats.DiskFull > 0 && stats.Flips > 0,
            $"too few faults: {stats.PowerLosses} power losses, {stats.Lost} lost, {stats.Torn} torn, {stats.DiskFull} ENOSPC, {stats.Flips} flips");
    }

    private static void RunSeed(int seed, DiskStats stats)
    {
        var random = new Random(seed);
        Steps.Clear();
        var disk = new SimDisk(new Random(seed + 1_000_000), stats) { CrashPoint = where => throw new SimulatedCrash(where) };
        var options = new SegmentedLogOptions { SegmentBytes = 512 + random.Next(4096) };
        var model = new Dictionary<ulong, List<(ulong Term, byte[] Payload)>>();
        ulong acknowledged = 0; // every record up to here was covered by a returned Sync
        ulong compactedAtLeast = 0;
        ulong term = 1;
        var markMayLag = false;
        var log = SegmentedLog.Open(disk, Directory, options);
        for (var step = 0; step < 80; step++)
        {
            try
            {
                if (random.Next(6) == 0)
                    disk.PowerLossAtSync = 1 + random.Next(3);
                disk.Full = random.Next(12) == 0;
                disk.FlipNextSegmentRead = random.Next(8) == 0;
                switch (random.Next(10))
                {
                    case < 6:
                        var first = log.LastIndex + 1;
                        if (random.Next(4) == 0 && log.LastIndex >= log.FirstIndex)
                        {
                            first = (ulong)random.NextInt64((long)log.FirstIndex, (long)log.LastIndex + 1);
                            term++;
                        }
                        var records = new List<LogRecord>();
                        for (var i = 0; i < 1 + random.Next(4); i++)
                        {
                            var payload = new byte[random.Next(1200)];
                            random.NextBytes(payload);
                            records.Add(new LogRecord(first + (ulong)i, term, 1, payload));
                        }
                        // Until a Sync returns, a crash may leave the old records or the new ones.
                        acknowledged = Math.Min(acknowledged, first - 1);
                        foreach (var r in records)
                        {
                            if (!model.TryGetValue(r.Index, out var versions))
                                model[r.Index] = versions = [];
                            versions.Add((r.Term, r.Payload.ToArray()));
                        }
                        Steps.Add($"append {first}..{first + (ulong)records.Count - 1} t{term} sizes {string.Join(",", records.Select(r => r.Payload.Length))} full={disk.Full} pl={disk.PowerLossAtSync}");
                        log.Append(records);
                        log.Sync();
                        markMayLag = false;
                        acknowledged = log.LastIndex;
                        foreach (var index in model.Keys.ToList())
                        {
                            if (index > log.LastIndex)
                                model.Remove(index);
                            else
                                model[index] = [model[index][^1]];
                        }
                        break;
                    case < 8 when log.LastIndex >= log.FirstIndex:
                        var from = (ulong)random.NextInt64((long)log.FirstIndex, (long)log.LastIndex + 1);
                        foreach (var r in log.Read(from, log.LastIndex + 1, random.Next(1, 5000)))
                        {
                            Assert.True(model.TryGetValue(r.Index, out var m) && m[^1].Term == r.Term && r.Payload.Span.SequenceEqual(m[^1].Payload),
                                $"seed {seed}: record {r.Index} read back changed");
                        }
                        break;
                    case 8 when log.LastIndex >= log.FirstIndex:
                        var before = (ulong)random.NextInt64((long)log.FirstIndex, Math.Max((long)log.FirstIndex + 1, (long)Math.Min(acknowledged, log.LastIndex) + 2));
                        Steps.Add($"compact before {before}");
                        log.CompactBefore(before, new byte[] { 7 });
                        compactedAtLeast = Math.Max(compactedAtLeast, before - 1);
                        break;
                    case 9 when random.Next(4) == 0:
                        var snapshot = log.LastIndex + (ulong)random.Next(5);
                        term++;
                        Steps.Add($"reset to {snapshot} t{term}");
                        log.ResetTo(snapshot, term, new byte[] { 9 });
                        model.Clear();
                        acknowledged = snapshot;
                        compactedAtLeast = snapshot;
                        break;
                }
            }
            catch (Exception ex) when (ex is SimulatedCrash or IOException
                || (ex is RaftSqlException { Code: RaftSqlErrorCode.CorruptLog } && disk.FlipsSinceCrash > 0))
            {
                Steps.Add($"crash: {ex.GetType().Name} {ex.Message}");
                // The process dies (or stops on the error, as the node does) and starts again.
                log.Dispose();
                var powerLoss = ex is SimulatedCrash || random.Next(2) == 0;
                disk.Crash(powerLoss);
                if (powerLoss)
                    stats.PowerLosses++;
                // A bit flip while recovery reads, only while the synced mark is current: after a power loss (until
                // the next Sync) the mark, written without an fsync of its own, may lag, and damage to the last synced
                // batches then passes for a torn tail and is cut, a double fault the design leaves open (SegmentRecovery).
                markMayLag |= powerLoss;
                disk.FlipNextSegmentRead = !markMayLag && random.Next(3) == 0;
                Steps.Add($"reopen after {(powerLoss ? "a power loss" : "a kill")}{(disk.FlipNextSegmentRead ? ", a bit flips in its first read" : "")}");
                log = Reopen(disk, options, seed);
                Verify(log, model, acknowledged, compactedAtLeast, seed);
            }
        }
        log.Dispose();
    }

    private static SegmentedLog Reopen(SimDisk disk, SegmentedLogOptions options, int seed)
    {
        try
        {
            return SegmentedLog.Open(disk, Directory, options);
        }
        catch (RaftSqlException ex) when (disk.FlipsSinceCrash > 0)
        {
            // Refusing to open on a bad read is right; the bit flip was in the read, not on the disk.
            Steps.Add($"refused to open after a bit flip: {ex.Message}");
            disk.Crash(powerLoss: false);
            return Reopen(disk, options, seed);
        }
        catch (RaftSqlException ex)
        {
            throw new Xunit.Sdk.XunitException($"seed {seed}: the log does not reopen after a crash: {ex.Message}");
        }
    }

    private static void Verify(SegmentedLog log, Dictionary<ulong, List<(ulong Term, byte[] Payload)>> model, ulong acknowledged, ulong compactedAtLeast, int seed)
    {
        Assert.True(log.FirstIndex - 1 >= compactedAtLeast, $"seed {seed}: the compaction point went back to {log.FirstIndex - 1} from {compactedAtLeast}");
        Assert.True(log.LastIndex >= acknowledged, $"seed {seed}: synced records up to {acknowledged} lost, the log ends at {log.LastIndex}\n" + string.Join("\n", Steps));
        foreach (var index in model.Keys.Where(k => k < log.FirstIndex).ToList())
            model.Remove(index);
        if (log.LastIndex < log.FirstIndex)
            return;
        foreach (var r in log.Read(log.FirstIndex, log.LastIndex + 1, long.MaxValue))
        {
            var version = model.TryGetValue(r.Index, out var m) ? m.FindLastIndex(v => v.Term == r.Term && r.Payload.Span.SequenceEqual(v.Payload)) : -1;
            Assert.True(version >= 0,
                $"seed {seed}: after a crash record {r.Index} (term {r.Term}) was never written there\n" + string.Join("\n", Steps));
            model[r.Index] = [m![version]];
        }
        // What the writer wrote but did not sync, and the crash dropped, is gone from the model too.
        foreach (var index in model.Keys.Where(k => k > log.LastIndex).ToList())
            model.Remove(index);
    }
}

/// <summary>Records a killed process left unsynced in the page cache are durable once the log is open again.</summary>
public class SimDiskReopenTests
{
    [Fact]
    public void Records_recovered_after_a_kill_survive_a_later_power_loss()
    {
        for (var seed = 0; seed < 50; seed++)
        {
            var disk = new SimDisk(new Random(seed), new DiskStats());
            const string directory = "/sim/reopen/raft";
            using (var log = SegmentedLog.Open(disk, directory))
            {
                log.Append([.. Enumerable.Range(1, 3).Select(i => new LogRecord((ulong)i, 1, 1, new byte[700]))]);
            }
            disk.Crash(powerLoss: false);
            using (var log = SegmentedLog.Open(disk, directory))
            {
                Assert.Equal(3ul, log.LastIndex); // from here on the log vouches for records 1..3
                Assert.Equal(0, disk.PendingChanges);
            }
            disk.Crash(powerLoss: true);
            using (var log = SegmentedLog.Open(disk, directory))
                Assert.Equal(3ul, log.LastIndex);
        }
    }

    [Fact]
    public void A_snapshot_reset_cut_short_by_a_crash_leaves_the_old_log_vouched_for()
    {
        for (var seed = 0; seed < 20; seed++)
        {
            var disk = new SimDisk(new Random(seed), new DiskStats()) { CrashPoint = where => throw new SimulatedCrash(where) };
            const string directory = "/sim/reset/raft";
            using (var log = SegmentedLog.Open(disk, directory))
            {
                log.Append([.. Enumerable.Range(1, 5).Select(i => new LogRecord((ulong)i, 1, 1, new byte[300]))]);
                log.Sync();
                disk.PowerLossAtSync = 1; // the process dies at the first fsync of the reset
                Assert.Throws<SimulatedCrash>(() => log.ResetTo(10, 2, new byte[] { 1 }));
            }
            disk.Crash(powerLoss: false);

            // Records 1..5 were synced: damage to them is corruption, never a torn tail to cut.
            disk.FlipNextSegmentRead = true;
            var error = Assert.Throws<RaftSqlException>(() => SegmentedLog.Open(disk, directory).Dispose());
            Assert.Equal(RaftSqlErrorCode.CorruptLog, error.Code);
            disk.Crash(powerLoss: false);
            using (var log = SegmentedLog.Open(disk, directory))
                Assert.Equal(5ul, log.LastIndex);
        }
    }
}
