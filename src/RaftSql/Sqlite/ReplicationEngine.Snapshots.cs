using System.Buffers.Binary;
using RaftSql.Sqlite.Durability;
using RaftSql.Sqlite.Snapshots;
using RaftSql.Sqlite.Wal;

namespace RaftSql.Sqlite;

public sealed partial class ReplicationEngine
{
    /// <summary>
    /// The index a snapshot taken now may claim, at most <paramref name="applied"/>: below the first chunk of any
    /// transaction still being staged (or of our own tail's oldest commit), whose frames no snapshot holds, so that
    /// every entry of it replays after the snapshot. <see cref="WriteSnapshot"/> returns at least this much.
    /// </summary>
    public ulong SnapshotPoint(ulong applied)
    {
        lock (_applyGate)
        {
            var point = Math.Min(applied, _appliedIndex);
            foreach (var db in _databases.Values)
            {
                point = Math.Min(point, db.ReplayFrom - 1);
            }
            return point;
        }
    }

    /// <summary>
    /// Streams a snapshot of every database to <paramref name="destination"/> and returns the index the log must
    /// keep every entry after. Each database is recorded with its own index: its files hold exactly its entries up
    /// to that index, which may be later than the returned one (another database may be staging a big
    /// transaction), so an installer replays each database from its own point, never laying older pages over newer
    /// ones nor meeting the end of a transaction whose start it skipped. Per database the checkpoint lock keeps the
    /// file still and a read lock keeps the WAL from restarting, so writes and applies go on while it streams.
    /// </summary>
    public ulong WriteSnapshot(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ThrowIfDisposed();
        var held = new List<(ReplicatedDatabase Db, ulong Index, WalIndexHeader Header, uint Backfill, long FileLength)>();
        // A lock holder per snapshot and database: snapshots may stream at the same time (to two followers),
        // and one finishing must not release what another still holds.
        var locked = new List<(ReplicatedDatabase Db, ShmClient Client)>();
        ulong index;
        try
        {
            lock (_applyGate)
            {
                index = _appliedIndex;
                foreach (var db in _databases.Values.OrderBy(d => d.Name, StringComparer.Ordinal))
                {
                    var complete = FilesCompleteTo(db);
                    // A staged transaction's chunks must reach a follower that installs this snapshot.
                    index = Math.Min(index, complete);
                    var locks = db.Index.Locks;
                    var client = new ShmClient();
                    locked.Add((db, client));
                    // The checkpoint lock shared: no checkpoint moves the file, while other snapshots share it.
                    if (!locks.Wait(client, ShmLockTable.CheckpointLock, 1, exclusive: false, _options.ApplyLockTimeout)
                        || !locks.Wait(client, ShmLockTable.ReadLock(1), 1, exclusive: false, _options.ApplyLockTimeout))
                    {
                        throw new RaftSqlException(RaftSqlErrorCode.SnapshotFailed, $"Database {db.Name} stayed busy.");
                    }
                    // Only committed frames: the leader's speculative tail is not part of any snapshot.
                    var committed = db.CommittedFrame(out var header);
                    if (db.Index.ReadHeader() is null)
                    {
                        throw new RaftSqlException(RaftSqlErrorCode.SnapshotFailed, $"The WAL-index of {db.Name} cannot be read.");
                    }
                    if (committed < header.MaxFrame)
                    {
                        header.MaxFrame = committed;
                        header.DatabasePages = CommittedPages(db, committed);
                    }
                    unsafe
                    {
                        held.Add((db, complete, header, db.Index.CheckpointInfo->Backfill, db.DatabaseFile!.Length));
                    }
                }
            }

            var writer = new SnapshotWriter(destination);
            writer.Bytes(SnapshotFormat.Magic);
            writer.Bytes([SnapshotFormat.Version]);
            writer.UInt64(index);
            writer.UInt32((uint)held.Count);
            foreach (var (db, complete, header, backfill, fileLength) in held)
            {
                WriteDatabase(writer, db, complete, header, backfill, fileLength);
            }
            writer.Finish();
            return index;
        }
        finally
        {
            foreach (var (db, client) in locked)
            {
                db.Index.Locks.ReleaseAll(client);
            }
        }
    }

    /// <summary>Under the apply gate: the index up to which <paramref name="db"/>'s committed frames hold every entry
    /// of it and none after: the applied index, or just before a transaction staged (or our own, half applied) whose
    /// frames are unpublished; never below what its durable record says the files hold (entries up to that are
    /// skipped, so after an install it can run ahead of the applied index).</summary>
    private ulong FilesCompleteTo(ReplicatedDatabase db) => Math.Max(db.DurableIndex, Math.Min(_appliedIndex, db.ReplayFrom - 1));

    private static uint CommittedPages(ReplicatedDatabase db, uint frame)
    {
        if (frame == 0)
        {
            return (uint)(db.DatabaseFile!.Length / db.PageSize);
        }
        Span<byte> header = stackalloc byte[WalFormat.FrameHeaderSize];
        db.WalFile!.Read(header, WalFormat.FrameOffset(frame, db.PageSize));
        return BinaryPrimitives.ReadUInt32BigEndian(header[4..]);
    }

    private static void WriteDatabase(SnapshotWriter writer, ReplicatedDatabase db, ulong complete, WalIndexHeader header, uint backfill, long fileLength)
    {
        var pageSize = db.PageSize;
        writer.String(db.Name);
        writer.UInt64(complete);
        writer.UInt32((uint)pageSize);
        writer.UInt32(header.MaxFrame > 0 ? header.DatabasePages : (uint)(fileLength / pageSize));
        writer.UInt64((ulong)fileLength);
        var chunk = new byte[SnapshotFormat.ChunkSize];
        for (long at = 0; at < fileLength; at += chunk.Length)
        {
            var part = chunk.AsSpan(0, (int)Math.Min(chunk.Length, fileLength - at));
            db.DatabaseFile!.Read(part, at);
            writer.Bytes(part);
        }
        var first = Math.Min(backfill, header.MaxFrame) + 1;
        writer.UInt32(header.MaxFrame + 1 - first);
        var frame = new byte[WalFormat.FrameHeaderSize + pageSize];
        for (var f = first; f <= header.MaxFrame; f++)
        {
            db.WalFile!.Read(frame, WalFormat.FrameOffset(f, pageSize));
            writer.UInt32(BinaryPrimitives.ReadUInt32BigEndian(frame));
            writer.Bytes(frame.AsSpan(WalFormat.FrameHeaderSize));
        }
    }

    /// <summary>
    /// Replaces every database of this engine with the snapshot read from <paramref name="source"/>
    /// and returns the index it carries; apply entries after it next (each database skips those its
    /// files already hold). No connection other than the engine's own may be open.
    /// </summary>
    public ulong InstallSnapshot(Stream source)
    {
        ArgumentNullException.ThrowIfNull(source);
        ThrowIfDisposed();
        lock (_applyGate)
        {
            lock (_createGate)
            {
                if (_databases.Values.Any(d => d.Index.MappedClients > 1))
                {
                    throw new RaftSqlException(RaftSqlErrorCode.SnapshotFailed, "Connections are open; close them before installing a snapshot.");
                }
                foreach (var db in _databases.Values.ToList())
                {
                    Close(db);
                    DeleteDatabaseFiles(db.Name);
                }
                var reader = new SnapshotReader(source);
                var names = new List<(string Name, ulong Index)>();
                ulong index;
                try
                {
                    Span<byte> magic = stackalloc byte[SnapshotFormat.Magic.Length + 1];
                    reader.Bytes(magic);
                    if (!magic[..^1].SequenceEqual(SnapshotFormat.Magic))
                    {
                        throw SnapshotReader.Failed("not a RaftSql snapshot");
                    }
                    if (magic[^1] != SnapshotFormat.Version)
                    {
                        // Version 1 had one index for all databases, which replays some of them wrongly: never guess.
                        throw SnapshotReader.Failed($"format version {magic[^1]} is not supported (this node reads version {SnapshotFormat.Version})");
                    }
                    index = reader.UInt64();
                    var count = reader.UInt32();
                    for (var i = 0; i < count; i++)
                    {
                        var name = reader.String(255);
                        if (!IsValidName(name) || names.Any(n => n.Name == name))
                        {
                            throw SnapshotReader.Failed($"invalid database name '{name}'");
                        }
                        var complete = reader.UInt64();
                        if (complete < index)
                        {
                            throw SnapshotReader.Failed($"database {name} ends at index {complete}, before the snapshot's index {index}");
                        }
                        names.Add((name, complete));
                        InstallDatabase(reader, name);
                    }
                    reader.VerifyTrailer();
                    DurableIndexFile.SyncDirectory(_databaseDirectory);
                }
                catch (Exception e) when (e is RaftSqlException or IOException)
                {
                    foreach (var (name, _) in names)
                    {
                        DeleteDatabaseFiles(name);
                    }
                    throw e is RaftSqlException { Code: RaftSqlErrorCode.SnapshotFailed } ? e : SnapshotReader.Failed(e.Message, e);
                }
                foreach (var (name, complete) in names)
                {
                    // Replay skips this database's entries up to there: its files hold them already.
                    DurableIndexFile.Write(DurablePath(name), DurableRecord.Empty with { Index = complete });
                    OpenExisting(name);
                }
                _appliedIndex = index;
                _log.SnapshotInstalled(index, names.Count);
                return index;
            }
        }
    }

    private void InstallDatabase(SnapshotReader reader, string name)
    {
        var pageSize = (int)reader.UInt32();
        var pages = reader.UInt32();
        var fileLength = (long)reader.UInt64();
        if (!FrameSet.IsValidPageSize(pageSize) || pages == 0 || fileLength < 0)
        {
            throw SnapshotReader.Failed($"database {name} has an invalid page size or length");
        }
        // The checkpointed database: its file, then the WAL pages over it, cut to the committed size.
        using var file = new FileStream(DatabasePath(name), FileMode.CreateNew, FileAccess.Write, FileShare.None);
        var chunk = new byte[Math.Max(SnapshotFormat.ChunkSize, pageSize)];
        for (long at = 0; at < fileLength; at += SnapshotFormat.ChunkSize)
        {
            var part = chunk.AsSpan(0, (int)Math.Min(SnapshotFormat.ChunkSize, fileLength - at));
            reader.Bytes(part);
            file.Write(part);
        }
        var frames = reader.UInt32();
        var page = chunk.AsSpan(0, pageSize);
        for (var i = 0; i < frames; i++)
        {
            var number = reader.UInt32();
            reader.Bytes(page);
            if (number == 0)
            {
                throw SnapshotReader.Failed($"database {name} has a page number 0");
            }
            file.Position = (long)(number - 1) * pageSize;
            file.Write(page);
        }
        file.SetLength((long)pages * pageSize);
        file.Flush(flushToDisk: true);
    }
}
