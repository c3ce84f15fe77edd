using RaftSql.Protocol;

namespace RaftSql.Hosting;

/// <summary>A snapshot being received from the leader, written to a temporary file chunk by chunk.</summary>
internal sealed class StagedSnapshot : IDisposable
{
    private readonly FileStream _file;
    private readonly ulong _snapshotId;
    private ulong _nextOffset;

    private StagedSnapshot(string path, ulong snapshotId, ulong index)
    {
        Path = path;
        _snapshotId = snapshotId;
        Index = index;
        _file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
    }

    public string Path { get; }

    /// <summary>The Raft index the snapshot covers.</summary>
    public ulong Index { get; }

    public bool IsComplete { get; private set; }

    /// <summary>Starts staging with the first chunk, which must carry the metadata.</summary>
    public static StagedSnapshot Begin(string directory, SnapshotChunk first)
    {
        if (first.Offset != 0 || first.Metadata is null)
            throw new RaftSqlException(RaftSqlErrorCode.ProtocolError, "A snapshot stream must start at offset 0 with its metadata.");
        Directory.CreateDirectory(directory);
        var path = System.IO.Path.Combine(directory, $"in-{first.From}-{first.SnapshotId}-{Guid.NewGuid():N}.tmp");
        return new StagedSnapshot(path, first.SnapshotId, first.Metadata.Index);
    }

    public void Append(SnapshotChunk chunk)
    {
        if (IsComplete || chunk.SnapshotId != _snapshotId || chunk.Offset != _nextOffset)
            throw new RaftSqlException(RaftSqlErrorCode.ProtocolError,
                $"Snapshot chunk out of order (id {chunk.SnapshotId}, offset {chunk.Offset}, expected {_snapshotId} at {_nextOffset}).");
        _file.Write(chunk.Data.Span);
        _nextOffset += (ulong)chunk.Data.Length;
        if (chunk.Last)
        {
            _file.Flush(flushToDisk: true);
            IsComplete = true;
        }
    }

    public Stream OpenRead() => new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);

    /// <summary>Deletes leftovers of an earlier run.</summary>
    public static void Sweep(string directory)
    {
        if (!Directory.Exists(directory))
            return;
        foreach (var file in Directory.EnumerateFiles(directory, "*.tmp"))
            File.Delete(file);
    }

    public void Dispose()
    {
        _file.Dispose();
        try
        {
            File.Delete(Path);
        }
        catch (IOException)
        {
            // Swept on the next start.
        }
    }
}
