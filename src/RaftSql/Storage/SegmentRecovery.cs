using Microsoft.Extensions.Logging;

namespace RaftSql.Storage;

/// <summary>
/// Rebuilds a segment's index from its file on open. Only the last segment can hold a torn write (a full segment
/// is synced before the next one starts), and only beyond the length recorded as synced (<see cref="SyncedMark"/>).
/// A power loss may write unsynced pages in any order, so damage there may be followed by intact records; the tail
/// is cut from the first damaged record. That never drops an acknowledged record after a crash: a record is
/// acknowledged only once its fsync returned, and a crash does not damage synced bytes. (The mark may lag the last
/// fsync, which only lets media damage to the last synced batches pass for a torn tail.)
/// Damage within the synced length, in an older segment, or a well-formed record out of sequence is corruption.
/// </summary>
internal static class SegmentRecovery
{
    private enum Check { Valid, Torn, BadLength, BadChecksum, WrongIndex, TermWentBack }

    /// <summary>
    /// Indexes every record of <paramref name="segment"/>; returns the term of its last record (or <paramref name="previousTerm"/>).
    /// <paramref name="syncedLength"/> is how many bytes of a last segment are known durable (0 for older segments).
    /// </summary>
    public static ulong Scan(Segment segment, ulong previousTerm, bool isLastSegment, long syncedLength, ILogger logger)
    {
        long fileLength = segment.File.Length;
        if (fileLength < syncedLength)
        {
            throw StorageErrors.Corrupt(segment.FilePath, fileLength, $"the file ends here but {syncedLength} bytes of it were synced");
        }

        var window = new FileWindow(segment.File, fileLength);
        long offset = 0;
        ulong term = previousTerm;
        while (offset < fileLength)
        {
            ulong expectedIndex = segment.FirstIndex + (ulong)segment.Count;
            Check check = CheckRecord(window, offset, expectedIndex, term, out int length, out ulong recordTerm);
            if (check == Check.Valid)
            {
                segment.AddRecord(recordTerm, length);
                offset += length;
                term = recordTerm;
                continue;
            }

            string reason = Describe(check, expectedIndex);
            if (check is Check.WrongIndex or Check.TermWentBack || !isLastSegment)
            {
                throw StorageErrors.Corrupt(segment.FilePath, offset, reason);
            }

            if (offset < syncedLength)
            {
                throw StorageErrors.Corrupt(segment.FilePath, offset, $"{reason}, within the {syncedLength} bytes that were synced");
            }

            segment.TruncateTail(offset);
            StorageLog.TornTailTruncated(logger, segment.FilePath, offset, fileLength - offset, $"{reason}, beyond the {syncedLength} bytes last known synced");
            break;
        }

        return term;
    }

    private static Check CheckRecord(FileWindow window, long offset, ulong expectedIndex, ulong minTerm, out int length, out ulong term)
    {
        length = 0;
        term = 0;
        ReadOnlySpan<byte> header = window.Read(offset, RecordFormat.HeaderSize);
        if (header.Length < RecordFormat.PrefixSize)
        {
            return Check.Torn;
        }

        int bodyLength = RecordFormat.ReadBodyLength(header);
        if (bodyLength < 0)
        {
            return Check.BadLength;
        }

        length = RecordFormat.PrefixSize + bodyLength;
        if (offset + length > window.FileLength)
        {
            return Check.Torn;
        }

        ReadOnlySpan<byte> encoded = window.Read(offset, length);
        if (RecordFormat.ReadStoredChecksum(encoded) != RecordFormat.Checksum(encoded))
        {
            return Check.BadChecksum;
        }

        term = RecordFormat.ReadTerm(encoded);
        if (RecordFormat.ReadIndex(encoded) != expectedIndex)
        {
            return Check.WrongIndex;
        }

        return term < minTerm ? Check.TermWentBack : Check.Valid;
    }

    private static string Describe(Check check, ulong expectedIndex) => check switch
    {
        Check.Torn => $"record for index {expectedIndex} is cut short",
        Check.BadLength => $"record for index {expectedIndex} has an impossible length",
        Check.BadChecksum => $"record for index {expectedIndex} fails its checksum",
        Check.WrongIndex => $"a well-formed record where index {expectedIndex} was expected carries another index",
        Check.TermWentBack => $"record {expectedIndex} has a lower term than the record before it",
        _ => throw new ArgumentOutOfRangeException(nameof(check)),
    };
}
