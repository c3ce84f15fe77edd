using Microsoft.Extensions.Logging;

namespace RaftSql.Storage;

/// <summary>
/// Opens the segment files of a log directory and reconciles them with the compaction point: segments wholly at
/// or below it are deleted (an interrupted compaction or snapshot install), and if the log holds the point's index
/// with another term, everything after it is stale (an interrupted snapshot install) and is dropped.
/// The <see cref="SyncedMark"/> says how much of the last segment must be intact (see <see cref="SegmentRecovery"/>).
/// </summary>
internal static class LogRecovery
{
    public static List<Segment> OpenSegments(IStorageFiles files, string directory, CompactionPoint point, SyncedMark mark, ILogger logger)
    {
        var found = new List<(ulong FirstIndex, string Path)>();
        foreach (string path in files.EnumerateFiles(directory))
        {
            if (Segment.TryParseFileName(Path.GetFileName(path), out ulong firstIndex))
            {
                found.Add((firstIndex, path));
            }
        }

        found.Sort((a, b) => a.FirstIndex.CompareTo(b.FirstIndex));
        SyncedPoint synced = mark.Current;
        if (synced.Length > 0 && (found.Count == 0 || synced.Segment > found[^1].FirstIndex))
        {
            throw StorageErrors.Corrupt(Segment.PathFor(directory, synced.Segment), $"the file is missing but {synced.Length} bytes of it were synced");
        }

        var segments = new List<Segment>(found.Count);
        try
        {
            ulong term = 0;
            for (int i = 0; i < found.Count; i++)
            {
                var segment = Segment.OpenExisting(files, found[i].Path, found[i].FirstIndex);
                segments.Add(segment);
                if (i > 0 && segment.FirstIndex != segments[i - 1].LastIndex + 1)
                {
                    throw StorageErrors.Corrupt(segment.FilePath,
                        $"segment starts at index {segment.FirstIndex} but the previous one ends at {segments[i - 1].LastIndex}");
                }

                bool isLast = i == found.Count - 1;
                long syncedLength = isLast && synced.Segment == segment.FirstIndex ? synced.Length : 0;
                term = SegmentRecovery.Scan(segment, term, isLast, syncedLength, logger);
            }

            ReconcileWithPoint(segments, point, mark, logger);
            return segments;
        }
        catch
        {
            segments.ForEach(s => s.Dispose());
            throw;
        }
    }

    private static void ReconcileWithPoint(List<Segment> segments, CompactionPoint point, SyncedMark mark, ILogger logger)
    {
        int deleted = 0;
        while (segments.Count > 0 && segments[0].LastIndex <= point.Index)
        {
            mark.Clear(); // the mark may name this segment; it must never name a deleted one
            segments[0].Delete();
            segments.RemoveAt(0);
            deleted++;
        }

        if (deleted > 0)
        {
            StorageLog.SegmentsDeleted(logger, deleted, point.Index);
        }

        if (segments.Count == 0)
        {
            return;
        }

        if (segments[0].FirstIndex > point.Index + 1)
        {
            throw StorageErrors.Corrupt(segments[0].FilePath,
                $"the log starts at index {segments[0].FirstIndex} but the compaction point is {point.Index}: entries in between are missing");
        }

        // Here the first segment holds the point's index (its first index is at most point + 1 and its last above the point).
        if (segments[0].FirstIndex <= point.Index && segments[0].TermOf(point.Index) != point.Term)
        {
            mark.Clear();
            while (segments.Count > 1)
            {
                segments[^1].Delete();
                segments.RemoveAt(segments.Count - 1);
            }

            segments[0].TruncateFrom(point.Index + 1);
            segments[0].File.Sync();
            segments[0].Dirty = false;
            StorageLog.StaleEntriesDiscarded(logger, point.Index);
        }
    }
}
