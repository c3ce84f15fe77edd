using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RaftSql.Sqlite.Durability;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using RaftSql.Sqlite.Native;
using RaftSql.Sqlite.Staging;
using RaftSql.Sqlite.Vfs;
using RaftSql.Sqlite.Wal;

namespace RaftSql.Sqlite;

/// <summary>
/// One node's replicated databases: a private VFS that captures local commits (leader) and the
/// apply path for committed frame sets (followers), plus durability records, checkpoints and snapshots.
/// </summary>
public sealed partial class ReplicationEngine : IDisposable, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ReplicatedDatabase> _databases = new(StringComparer.Ordinal);
    private readonly object _applyGate = new();
    private readonly object _createGate = new();
    private readonly object _flushGate = new();
    private readonly EngineOptions _options;
    private readonly ReplicationVfs _vfs;
    private readonly EngineLog _log;
    private readonly string _databaseDirectory;
    private readonly string _durableDirectory;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _maintenance;
    private ulong _appliedIndex;
    private bool _disposed;

    /// <summary>The open database <paramref name="name"/>, for tests that inject faults into it.</summary>
    internal ReplicatedDatabase OpenDatabase(string name) => _databases[name];

    public ReplicationEngine(EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.DataDirectory);
        _options = options;
        _log = new EngineLog((options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<ReplicationEngine>());
        _databaseDirectory = Path.Combine(Path.GetFullPath(options.DataDirectory), "databases");
        _durableDirectory = Path.Combine(Path.GetFullPath(options.DataDirectory), "durable");
        Directory.CreateDirectory(_databaseDirectory);
        Directory.CreateDirectory(_durableDirectory);
        _vfs = new ReplicationVfs($"raftsql-{Guid.NewGuid():N}", options.Committer, options.MaxEntryBytes, _log);
        _log.VfsRegistered(_vfs.Name, options.DataDirectory);
        foreach (var file in Directory.EnumerateFiles(_databaseDirectory))
        {
            var name = Path.GetFileName(file);
            if (IsValidName(name))
            {
                OpenExisting(name);
            }
        }
        _appliedIndex = _databases.IsEmpty ? 0 : _databases.Values.Min(d => d.DurableIndex);
        _maintenance = options.MaintenanceInterval > TimeSpan.Zero ? Task.Run(MaintainAsync) : Task.CompletedTask;
    }

    /// <summary>The name of this engine's VFS (the <c>Vfs</c> connection-string keyword).</summary>
    public string VfsName => _vfs.Name;

    public IReadOnlyList<string> Databases => _databases.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>True when this engine holds <paramref name="database"/>.</summary>
    public bool Contains(string database) => _databases.ContainsKey(database);

    /// <summary>The last Raft index passed to <see cref="ApplyCommitted"/> (or installed by a snapshot).</summary>
    public ulong AppliedIndex
    {
        get
        {
            lock (_applyGate)
            {
                return _appliedIndex;
            }
        }
    }

    /// <summary>The index up to which every database's file and WAL are durable; replay entries after it.</summary>
    public ulong DurableIndex() => _databases.IsEmpty ? AppliedIndex : _databases.Values.Min(d => d.DurableIndex);

    /// <summary>The index up to which <paramref name="database"/>'s file and WAL are durable.</summary>
    public ulong DurableIndex(string database) => Get(database).DurableIndex;

    /// <summary>
    /// Opens a connection to <paramref name="database"/> through the replicating VFS, creating the
    /// database on first use (its creation is itself a replicated commit).
    /// </summary>
    public SqliteConnection OpenConnection(string database, bool readOnly = false)
    {
        ThrowIfDisposed();
        ValidateName(database);
        if (!_databases.TryGetValue(database, out var db))
        {
            db = CreateLocal(database);
        }
        var connection = NewConnection(db.Path, readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWrite);
        try
        {
            connection.Open();
            NoCheckpointOnClose(connection);
            using var command = connection.CreateCommand();
            // Only the engine checkpoints (bounded by the commit point); SQLite's attempts would be refused anyway.
            command.CommandText = readOnly ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0";
            command.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Applies the encoded frame set of committed entry <paramref name="raftIndex"/>.</summary>
    public void ApplyCommitted(ulong raftIndex, ReadOnlySpan<byte> encodedFrames) => ApplyCommitted(raftIndex, 0, encodedFrames);

    /// <summary>
    /// Applies committed entry <paramref name="raftIndex"/> of <paramref name="term"/>; call strictly in log
    /// order. This node's own entry only moves the commit point (its frames are in the WAL already) and
    /// releases what waits on it; anything else is appended to the local WAL and published atomically.
    /// </summary>
    public void ApplyCommitted(ulong raftIndex, ulong term, ReadOnlySpan<byte> encodedFrames) =>
        ApplyCommitted(raftIndex, term, (ReadOnlyMemory<byte>)encodedFrames.ToArray());

    /// <summary>As the span overload; the entry's pages are applied from <paramref name="encodedFrames"/> itself,
    /// which must not change (a Raft entry's payload never does).</summary>
    public void ApplyCommitted(ulong raftIndex, ulong term, ReadOnlyMemory<byte> encodedFrames)
    {
        ThrowIfDisposed();
        lock (_applyGate)
        {
            var name = FrameSet.DatabaseOf(encodedFrames.Span);
            if (!IsValidName(name))
            {
                FrameSet.Decode(encodedFrames); // garbage is InvalidFrames; a well-formed entry with a bad name is not
                throw new RaftSqlException(RaftSqlErrorCode.UnknownDatabase, "Invalid database name in frame set.");
            }
            EndStaleStaging(term);
            if (_databases.TryGetValue(name, out var db))
            {
                if (db.Broken is { } broken)
                {
                    throw broken;
                }
                if (!db.TryCompleteOwn(raftIndex))
                {
                    var frames = FrameSet.Decode(encodedFrames);
                    if (db.SkipsAbandoned(frames))
                    {
                        // Our own abandoned big transaction: SQLite rolled it back here, and no final entry follows.
                        _appliedIndex = Math.Max(_appliedIndex, raftIndex);
                        return;
                    }
                    RestageUnpublished(db, raftIndex, frames);
                    ApplyTo(db, raftIndex, term, frames);
                    db.AppliedFromLog(raftIndex);
                }
            }
            else
            {
                var frames = FrameSet.Decode(encodedFrames);
                if (frames.IsAbort)
                {
                    // Its transaction never created the database here: nothing to forget.
                }
                else if (frames.IsWhole)
                {
                    CreateFromFrames(frames);
                }
                else if (frames.Sequence == 0)
                {
                    // A new database whose first transaction is big: start from an empty database, as the leader
                    // did (its only page, page 1, is rewritten by that first transaction), and stage the chunks.
                    frames.Validate();
                    ApplyTo(CreateLocal(name, frames.PageSize), raftIndex, term, frames);
                }
                else
                {
                    throw new RaftSqlException(RaftSqlErrorCode.UnknownDatabase,
                        $"Database {name} does not exist here and entry {raftIndex} continues a transaction that would create it.");
                }
            }
            _appliedIndex = Math.Max(_appliedIndex, raftIndex);
        }
    }

    /// <summary>Applies a decoded transaction (tests and tools).</summary>
    public void ApplyCommitted(ulong raftIndex, FrameSet frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        ApplyCommitted(raftIndex, 0, frames.Encode());
    }

    /// <summary>Notes an applied entry that carries no frames (a no-op or a membership change).</summary>
    public void ApplyOther(ulong raftIndex, ulong term)
    {
        lock (_applyGate)
        {
            EndStaleStaging(term);
            _appliedIndex = Math.Max(_appliedIndex, raftIndex);
        }
    }

    /// <summary>Copies committed frames of <paramref name="database"/> into its file (never the speculative
    /// tail); <paramref name="truncate"/> also empties the WAL when everything is copied and nobody reads it.
    /// False when readers or writers kept it from finishing.</summary>
    public bool Checkpoint(string database, bool truncate = false)
    {
        var db = Get(database);
        // The checkpoint never passes the durable record's frame (a crash must not leave the database file
        // newer than the WAL frames kept at open), so record first. Not under the anchor gate: a flush takes
        // the flush gate, then each anchor gate, and one running beside us (the host's maintenance) would
        // deadlock with us. The checkpoint reads the record under the anchor gate, where it is only replaced.
        FlushDurable();
        lock (db.AnchorGate)
        {
            if (db.Anchor == null)
            {
                throw new RaftSqlException(RaftSqlErrorCode.UnknownDatabase, $"Database '{database}' was closed.");
            }
            return WalCheckpointer.Run(db, truncate, truncate ? _options.ApplyLockTimeout : TimeSpan.FromMilliseconds(100));
        }
    }

    /// <summary>Syncs every database's WAL and file, then records what is durable: the applied index and
    /// the committed frames it covers (never a staged transaction's start or a speculative frame).</summary>
    public void FlushDurable()
    {
        lock (_flushGate)
        {
            FlushDurableLocked();
        }
    }

    private void FlushDurableLocked()
    {
        foreach (var db in _databases.Values)
        {
            ulong applied;
            uint frame;
            WalIndexHeader header;
            lock (_applyGate)
            {
                applied = _appliedIndex;
                applied = Math.Min(applied, db.ReplayFrom - 1);
                if (db.DurableIndex >= applied)
                {
                    continue;
                }
                frame = db.CommittedFrame(out header);
            }
            lock (db.AnchorGate)
            {
                if (db.WalFile == null)
                {
                    continue;
                }
                db.WalFile.Sync();
                db.DatabaseFile!.Sync();
                var record = new DurableRecord(applied, header.Salt1, header.Salt2, frame, KnowsWal: true);
                DurableIndexFile.Write(DurablePath(db.Name), record);
                db.Durable = record;
            }
        }
    }

    /// <summary>The database file's bytes, read through the engine's own handle (tests compare nodes with it;
    /// opening the file with .NET would drop SQLite's POSIX locks on close).</summary>
    internal byte[] ReadDatabaseFile(string database)
    {
        var db = Get(database);
        lock (db.AnchorGate)
        {
            var bytes = new byte[db.DatabaseFile!.Length];
            db.DatabaseFile.Read(bytes, 0);
            return bytes;
        }
    }

    /// <summary>The WAL file's bytes (for tests that simulate a crash by copying files).</summary>
    internal byte[] ReadWalFile(string database)
    {
        var db = Get(database);
        lock (db.AnchorGate)
        {
            var bytes = new byte[db.WalFile!.Length];
            db.WalFile.Read(bytes, 0);
            return bytes;
        }
    }

    private void ApplyTo(ReplicatedDatabase db, ulong raftIndex, ulong term, FrameSet frames)
    {
        if (raftIndex <= db.DurableIndex)
        {
            return; // already in the files (replay after a restart)
        }
        frames.Validate();
        if (frames.PageSize != db.PageSize)
        {
            throw new RaftSqlException(RaftSqlErrorCode.InvalidFrames,
                $"Frame set has page size {frames.PageSize}; database {db.Name} uses {db.PageSize}.");
        }
        if (frames.IsAbort)
        {
            if (db.Staging is { } abandoned && abandoned.TransactionId == frames.TransactionId)
            {
                UnderWriteLock(db, _ => DiscardStaging(db, $"entry {raftIndex} aborts it"));
            }
            return;
        }
        UnderWriteLock(db, header =>
        {
            if (db.Staging is { } staged && !staged.Continues(frames))
            {
                // A leader writes one transaction at a time per database: anything else ends an unfinished one.
                DiscardStaging(db, "another transaction followed it");
            }
            if (frames.IsWhole)
            {
                var appender = WalAppender.Begin(db, header, frames.PageSize);
                appender.Write(frames.Pages, frames.DatabaseSizePages);
                appender.Publish(frames.DatabaseSizePages);
                NoteRestart(db, appender);
                return;
            }
            if (db.Staging is null)
            {
                if (frames.Sequence != 0 && !frames.IsFinal)
                {
                    // The rest of a transaction whose start this node let go (its writer gave up after proposing
                    // some chunks, so no final entry follows): nothing to publish.
                    _log.StagingDiscarded(db.Name, frames.TransactionId, $"entry {raftIndex} continues a transaction that was abandoned");
                    return;
                }
                if (frames.Sequence != 0)
                {
                    throw new RaftSqlException(RaftSqlErrorCode.CorruptLog,
                        $"Entry {raftIndex} continues transaction {frames.TransactionId} of {db.Name}, whose first chunk is missing.");
                }
                var appender = WalAppender.Begin(db, header, frames.PageSize);
                NoteRestart(db, appender);
                db.Staging = new StagedTransaction(frames, term, raftIndex, appender);
            }
            var staging = db.Staging;
            staging.Add(frames);
            if (frames.IsFinal)
            {
                staging.Appender.Publish(frames.DatabaseSizePages);
                db.Staging = null;
                _log.StagedPublished(db.Name, frames.TransactionId, staging.Appender.Written);
            }
        });
    }

    /// <summary>A later chunk of our own big transaction that SQLite failed to publish, after its earlier chunks were
    /// applied as our own (only the commit mark moved, so they are in no file): stage those again from the log first.</summary>
    private void RestageUnpublished(ReplicatedDatabase db, ulong raftIndex, FrameSet frames)
    {
        if (frames.IsWhole || frames.Sequence == 0 || db.Staging is not null || db.Unpublished is not { } lost
            || !lost.Owns(raftIndex) || lost.FirstIndex >= raftIndex)
        {
            return;
        }
        var committer = _options.Committer
            ?? throw new RaftSqlException(RaftSqlErrorCode.CorruptLog, $"Entry {raftIndex} of {db.Name} continues chunks that cannot be read again.");
        _log.Restaging(db.Name, lost.FirstIndex, raftIndex - 1);
        Restage(db, lost.FirstIndex, raftIndex - 1, committer.ReadLog);
    }

    /// <summary>Applies <paramref name="db"/>'s entries in [<paramref name="from"/>, <paramref name="to"/>] again from the log.</summary>
    private void Restage(ReplicatedDatabase db, ulong from, ulong to,
        Func<ulong, ulong, IEnumerable<(ulong Index, ulong Term, ReadOnlyMemory<byte> Data)>> readLog)
    {
        foreach (var (index, term, data) in readLog(from, to))
        {
            if (!data.IsEmpty && FrameSet.DatabaseOf(data.Span) == db.Name)
            {
                ApplyTo(db, index, term, FrameSet.Decode(data));
            }
        }
    }

    private void NoteRestart(ReplicatedDatabase db, WalAppender appender)
    {
        if (appender.Restarted)
        {
            _log.WalRestarted(db.Name);
        }
    }

    /// <summary>Entries of a later term than a staged transaction's mean its leader is gone: its final entry never comes.</summary>
    private void EndStaleStaging(ulong term)
    {
        foreach (var db in _databases.Values)
        {
            if (db.Staging is { } staged && term > staged.Term)
            {
                UnderWriteLock(db, _ => DiscardStaging(db, $"term {term} began"));
            }
        }
    }

    /// <summary>With the write lock held: forgets an unfinished staged transaction.</summary>
    private void DiscardStaging(ReplicatedDatabase db, string why)
    {
        if (db.Staging is not { } staged)
        {
            return;
        }
        db.Staging = null;
        staged.Appender.Abandon();
        _log.StagingDiscarded(db.Name, staged.TransactionId, why);
    }

    /// <summary>Runs <paramref name="work"/> with the database's WAL write lock and its current WAL-index header.</summary>
    private void UnderWriteLock(ReplicatedDatabase db, Action<WalIndexHeader> work)
    {
        var locks = db.Index.Locks;
        for (var attempt = 0; ; attempt++)
        {
            if (!locks.Wait(db.ApplyClient, ShmLockTable.WriteLock, 1, exclusive: true, _options.ApplyLockTimeout))
            {
                throw new RaftSqlException(RaftSqlErrorCode.Timeout,
                    $"A local writer held {db.Name}'s write lock for longer than {_options.ApplyLockTimeout}.");
            }
            try
            {
                var header = db.Index.ReadHeader();
                if (header != null)
                {
                    if (db.HasTail)
                    {
                        throw new RaftSqlException(RaftSqlErrorCode.CorruptLog,
                            $"Entries from another leader reached {db.Name} while its own speculative tail was not cut.");
                    }
                    work(header.Value);
                    return;
                }
            }
            finally
            {
                locks.Release(db.ApplyClient, ShmLockTable.WriteLock, 1);
            }
            if (attempt > 0 || db.Staging is not null)
            {
                throw new RaftSqlException(RaftSqlErrorCode.CorruptLog, $"The WAL-index of {db.Name} cannot be read.");
            }
            // No valid WAL-index header: let SQLite rebuild it from the WAL (a read runs recovery), then retry.
            lock (db.AnchorGate)
            {
                Execute(db.Anchor!, "SELECT count(*) FROM sqlite_master");
            }
        }
    }

    private ReplicatedDatabase CreateLocal(string name, int pageSize = 0)
    {
        lock (_createGate)
        {
            if (_databases.TryGetValue(name, out var existing))
            {
                return existing;
            }
            var db = new ReplicatedDatabase(name, _vfs.FullPath(DatabasePath(name)));
            _vfs.Add(db);
            var anchor = NewConnection(db.Path, SqliteOpenMode.ReadWriteCreate);
            try
            {
                anchor.Open();
                NoCheckpointOnClose(anchor);
                // On an empty database the switch writes page 1 straight into the file (before WAL mode is
                // on), so it is not replicated: followers create the database from its first commit, which
                // always carries page 1 (every first write changes the schema or header there).
                if (pageSize > 0)
                {
                    Execute(anchor, $"PRAGMA page_size={pageSize}");
                }
                Execute(anchor, "PRAGMA journal_mode=WAL");
                // Guard: SQLite deletes the WAL of a database whose file is empty when a connection opens it,
                // so page 1 must be in the file before other connections come.
                Execute(anchor, "PRAGMA wal_checkpoint(TRUNCATE)");
            }
            catch (SqliteException e)
            {
                anchor.Dispose();
                _vfs.Remove(db);
                db.Index.Dispose();
                DeleteDatabaseFiles(name);
                throw e.ToRaftSqlException();
            }
            Attach(db, anchor);
            return db;
        }
    }

    private void CreateFromFrames(FrameSet frames)
    {
        frames.Validate();
        var first = frames.Pages.FirstOrDefault(p => p.PageNumber == 1);
        if (first.Data.Length < 100 || !first.Data.Span[..16].SequenceEqual("SQLite format 3\0"u8))
        {
            throw new RaftSqlException(RaftSqlErrorCode.UnknownDatabase,
                $"Database {frames.Database} does not exist here and the frame set does not create it.");
        }
        // Nothing has the new database open yet, so its first pages go straight into the file.
        var path = DatabasePath(frames.Database);
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            foreach (var page in frames.Pages)
            {
                file.Position = (long)(page.PageNumber - 1) * frames.PageSize;
                file.Write(page.Data.Span);
            }
            file.SetLength((long)frames.DatabaseSizePages * frames.PageSize);
            file.Flush(flushToDisk: true);
        }
        DurableIndexFile.SyncDirectory(_databaseDirectory);
        OpenExisting(frames.Database);
        _log.DatabaseCreatedFromFrames(frames.Database);
    }

    private void OpenExisting(string name)
    {
        var db = new ReplicatedDatabase(name, _vfs.FullPath(DatabasePath(name)))
        {
            Durable = DurableIndexFile.Read(DurablePath(name)),
        };
        TrimWal(db);
        _vfs.Add(db);
        var anchor = NewConnection(db.Path, SqliteOpenMode.ReadWrite);
        try
        {
            anchor.Open();
            NoCheckpointOnClose(anchor);
        }
        catch
        {
            anchor.Dispose();
            _vfs.Remove(db);
            throw;
        }
        Attach(db, anchor);
    }

    /// <summary>
    /// Before SQLite sees the WAL: frames after the durable record may be a crashed leader's speculative
    /// tail, indistinguishable from committed ones, so they go; the log replays what was committed.
    /// </summary>
    private void TrimWal(ReplicatedDatabase db)
    {
        var record = db.Durable;
        if (!record.KnowsWal || !File.Exists(db.WalPath))
        {
            return;
        }
        using var wal = new FileStream(db.WalPath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        if (wal.Length < WalFormat.HeaderSize)
        {
            return;
        }
        Span<byte> header = stackalloc byte[WalFormat.HeaderSize];
        wal.ReadExactly(header);
        var pageSize = (int)BinaryPrimitives.ReadUInt32BigEndian(header[8..]);
        var sameGeneration = record.Frame > 0 && FrameSet.IsValidPageSize(pageSize)
            && MemoryMarshal.Read<uint>(header[16..]) == record.Salt1 && MemoryMarshal.Read<uint>(header[20..]) == record.Salt2;
        var keep = sameGeneration ? WalFormat.FrameOffset(record.Frame + 1, pageSize) : 0;
        if (wal.Length > keep)
        {
            wal.SetLength(keep);
            wal.Flush(flushToDisk: true);
            _log.WalTrimmed(db.Name, record.Index, record.Frame);
        }
    }

    /// <summary>Finishes opening: the anchor reads once (building the WAL-index and holding the database
    /// open so SQLite never deletes the WAL under us), then the engine opens its own file handles.</summary>
    private void Attach(ReplicatedDatabase db, SqliteConnection anchor)
    {
        Execute(anchor, "PRAGMA busy_timeout=" + (long)_options.ApplyLockTimeout.TotalMilliseconds);
        Execute(anchor, "SELECT count(*) FROM sqlite_master");
        using (var command = anchor.CreateCommand())
        {
            command.CommandText = "PRAGMA page_size";
            db.PageSize = Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
        db.Anchor = anchor;
        unsafe
        {
            db.WalFile = PlatformFile.Open(_vfs.Platform, db.WalPath, SqliteApi.OpenWal);
            db.DatabaseFile = PlatformFile.Open(_vfs.Platform, db.Path, SqliteApi.OpenMainDb);
        }
        _databases[db.Name] = db;
        _log.DatabaseOpened(db.Name, db.PageSize, db.DurableIndex);
    }

    private void Close(ReplicatedDatabase db)
    {
        _databases.TryRemove(db.Name, out _);
        lock (db.AnchorGate)
        {
            db.Dispose();
            db.Anchor?.Dispose();
            db.Anchor = null;
        }
        _vfs.Remove(db);
        if (db.Index.MappedClients == 0)
        {
            db.Index.Dispose();
        }
    }

    private SqliteConnection NewConnection(string path, SqliteOpenMode mode)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = mode,
            Pooling = false,
            Vfs = _vfs.Name,
        };
        return new SqliteConnection(builder.ToString());
    }

    /// <summary>The last connection to close would checkpoint the whole WAL, speculative tail included, and
    /// with its exclusive lock it bypasses the VFS's refusal: switch that off on every connection.</summary>
    private static unsafe void NoCheckpointOnClose(SqliteConnection connection)
    {
        int result;
        var rc = SqliteApi.sqlite3_db_config(connection.Handle!.DangerousGetHandle(), SqliteApi.DbConfigNoCheckpointOnClose, 1, &result);
        if (rc != SqliteApi.Ok || result != 1)
        {
            throw new RaftSqlException(RaftSqlErrorCode.SqlError, $"SQLite refused to keep checkpoints off at close (error {rc}).");
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
        }
    }

    private ReplicatedDatabase Get(string database)
    {
        ThrowIfDisposed();
        return _databases.TryGetValue(database, out var db)
            ? db
            : throw new RaftSqlException(RaftSqlErrorCode.UnknownDatabase, $"Database '{database}' does not exist on this node.");
    }

    private string DatabasePath(string name) => Path.Combine(_databaseDirectory, name);

    private string DurablePath(string name) => Path.Combine(_durableDirectory, name);

    private void DeleteDatabaseFiles(string name)
    {
        foreach (var suffix in new[] { "", "-wal", "-journal" })
        {
            File.Delete(DatabasePath(name) + suffix);
        }
        File.Delete(DurablePath(name));
    }

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.]{0,127}$")]
    private static partial Regex NamePattern();

    private static bool IsValidName(string name) => NamePattern().IsMatch(name) && !name.Contains("..", StringComparison.Ordinal);

    private static void ValidateName(string name)
    {
        if (name == null || !IsValidName(name))
        {
            throw new RaftSqlException(RaftSqlErrorCode.UnknownDatabase,
                $"'{name}' is not a valid database name (letters, digits, '_' and '.', at most 128 characters).");
        }
    }

    private async Task MaintainAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.MaintenanceInterval, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            foreach (var db in _databases.Values)
            {
                try
                {
                    if (db.Index.PublishedMaxFrame >= _options.CheckpointThresholdFrames)
                    {
                        Checkpoint(db.Name, truncate: false);
                    }
                }
                catch (Exception e) when (e is SqliteException or RaftSqlException or IOException or ObjectDisposedException)
                {
                    _log.MaintenanceFailed(db.Name, e);
                }
            }
            try
            {
                FlushDurable();
            }
            catch (Exception e) when (e is RaftSqlException or IOException or ObjectDisposedException)
            {
                _log.MaintenanceFailed("*", e);
            }
        }
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new RaftSqlException(RaftSqlErrorCode.NodeStopped, "The replication engine is disposed.");
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _stopping.Cancel();
        _maintenance.GetAwaiter().GetResult();
        // The speculative tail stays in the WAL files: the durable record says where it starts.
        FailTails(new RaftSqlException(RaftSqlErrorCode.NodeStopped, "The node stopped before the write was known to commit."));
        foreach (var db in _databases.Values.ToList())
        {
            Close(db);
        }
        _vfs.Dispose();
        _stopping.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
