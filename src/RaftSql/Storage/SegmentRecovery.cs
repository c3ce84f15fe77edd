using Microsoft.Extensions.Logging;

namespace RaftSql.Storage;

/// <summary>
/// Rebuilds a segment's index from its file on open. A damaged record in the last segment with nothing valid
/// after it is a torn write from a crash: the tail is cut off. Anything else (damage in an older segment, a
/// damaged record followed by a valid one, a well-formed record out of sequence) is reported as corruption.
/// </summary>
internal static class SegmentRecovery
{
    private enum Check { Valid, Torn, BadLength, BadChecksum, WrongIndex, TermWentBack }

    /// <summary>Indexes every record of <paramref name="segment"/>; returns the term of its last record (or <paramref name="previousTerm"/>).</summary>
    public static ulong Scan(Segment segment, ulong previousTerm, bool isLastSegment, ILogger logger)
    {
        long fileLength = RandomAccess.GetLength(segment.Handle);
        var window = new FileWindow(segment.Handle, fileLength);
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

            long? validAfter = FindValidRecordAfter(window, offset, expectedIndex - 1, term);
            if (validAfter is long next)
            {
                throw StorageErrors.Corrupt(segment.FilePath, offset, $"{reason}, yet a valid record follows at offset {next}");
            }

            segment.TruncateTail(offset);
            StorageLog.TornTailTruncated(logger, segment.FilePath, offset, fileLength - offset, reason);
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

    /// <summary>
    /// Looks for any intact record after a damaged one, at every byte offset (the damaged length field cannot
    /// be trusted to say where the next record starts). Cheap filters (plausible length, index and term)
    /// run before the checksum, so a zero-filled or torn tail is dismissed quickly.
    /// </summary>
    private static long? FindValidRecordAfter(FileWindow window, long damagedOffset, ulong lastGoodIndex, ulong lastGoodTerm)
    {
        ulong maxIndex = lastGoodIndex + 1 + (ulong)((window.FileLength - damagedOffset) / RecordFormat.HeaderSize);
        for (long candidate = damagedOffset + 1; candidate + RecordFormat.HeaderSize <= window.FileLength; candidate++)
        {
            ReadOnlySpan<byte> header = window.Read(candidate, RecordFormat.HeaderSize);
            int bodyLength = RecordFormat.ReadBodyLength(header);
            if (bodyLength < 0 || candidate + RecordFormat.PrefixSize + bodyLength > window.FileLength)
            {
                continue;
            }

            ulong index = RecordFormat.ReadIndex(header);
            if (index <= lastGoodIndex || index > maxIndex || RecordFormat.ReadTerm(header) < lastGoodTerm)
            {
                continue;
            }

            ReadOnlySpan<byte> encoded = window.Read(candidate, RecordFormat.PrefixSize + bodyLength);
            if (RecordFormat.ReadStoredChecksum(encoded) == RecordFormat.Checksum(encoded))
            {
                return candidate;
            }
        }

        return null;
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
