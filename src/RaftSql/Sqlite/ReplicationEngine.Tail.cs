using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using RaftSql.Sqlite.Native;
using RaftSql.Sqlite.Vfs;
using RaftSql.Sqlite.Wal;

namespace RaftSql.Sqlite;

/// <summary>The leader's speculative tail: cutting it, and gating outputs that depend on it.</summary>
public sealed partial class ReplicationEngine
{
    /// <summary>
    /// Leadership was lost: every database's tail goes back to its last committed frame and the commits
    /// in it fail (<paramref name="reason"/> for those that reached the log, NotLeader for the others).
    /// Local writers must have been stopped first: this waits for each database's write lock.
    /// </summary>
    public void CutTails(RaftSqlException reason) => CutTails(reason, readLog: null);

    /// <summary>
    /// <see cref="CutTails(RaftSqlException)"/>, for a host with a log: chunks of a cut big transaction that
    /// were already committed and applied (as our own, so only in the tail) are staged again from
    /// <paramref name="readLog"/> (entries from, to inclusive), because the rest of that transaction may still
    /// commit under the new leader.
    /// </summary>
    public void CutTails(RaftSqlException reason, Func<ulong, ulong, IEnumerable<(ulong Index, ulong Term, ReadOnlyMemory<byte> Data)>>? readLog)
    {
        ArgumentNullException.ThrowIfNull(reason);
        foreach (var db in _databases.Values)
        {
            Cut(db, from: null, reason, readLog);
        }
    }

    /// <summary>The log refused an entry of <paramref name="from"/>: cut it and every later commit of its database.</summary>
    public void CutTail(LocalCommit from, RaftSqlException reason,
        Func<ulong, ulong, IEnumerable<(ulong Index, ulong Term, ReadOnlyMemory<byte> Data)>>? readLog = null)
    {
        ArgumentNullException.ThrowIfNull(from);
        if (_databases.TryGetValue(from.Database, out var db))
        {
            Cut(db, from, reason, readLog);
        }
    }

    /// <summary>False when <paramref name="commit"/>'s tail was cut after it was admitted: it must not reach the log.</summary>
    public bool IsCurrent(LocalCommit commit)
    {
        ArgumentNullException.ThrowIfNull(commit);
        return _databases.TryGetValue(commit.Database, out var db) && db.Generation == commit.Generation;
    }

    /// <summary>The node stops: the tails stay in the WAL files (cut at the next open) and their commits fail.</summary>
    private void FailTails(RaftSqlException reason)
    {
        foreach (var db in _databases.Values)
        {
            db.BeginCut();
            foreach (var commit in db.TakeTail(null, out _))
            {
                commit.Fail(reason);
            }
        }
    }

    private void Cut(ReplicatedDatabase db, LocalCommit? from, RaftSqlException reason,
        Func<ulong, ulong, IEnumerable<(ulong Index, ulong Term, ReadOnlyMemory<byte> Data)>>? readLog)
    {
        // Under the apply gate: the durable record must never see the tail gone and the restaged chunks not yet there.
        lock (_applyGate)
        {
            var restageFrom = CutLocked(db, from, reason);
            if (restageFrom == 0 || restageFrom > _appliedIndex)
            {
                return;
            }
            if (readLog is null)
            {
                throw new RaftSqlException(RaftSqlErrorCode.CorruptLog,
                    $"Committed chunks from entry {restageFrom} of {db.Name} were cut and cannot be staged again without the log.");
            }
            Restage(db, restageFrom, _appliedIndex, readLog);
        }
    }

    /// <summary>Cuts the tail; returns the first entry index of a cut (or unpublished) commit that the log already holds, or 0.</summary>
    private ulong CutLocked(ReplicatedDatabase db, LocalCommit? from, RaftSqlException reason)
    {
        db.BeginCut(); // commits admitted before now are refused when their turn to be proposed comes
        // Always take the write lock, even with an empty tail: a writer admitted just before may be between its
        // admission and joining the tail; once it releases the lock its commit is in the tail (or unpublished).
        var locks = db.Index.Locks;
        if (!locks.Wait(db.ApplyClient, ShmLockTable.WriteLock, 1, exclusive: true, _options.ApplyLockTimeout))
        {
            throw new RaftSqlException(RaftSqlErrorCode.Timeout,
                $"A local writer held {db.Name}'s write lock for longer than {_options.ApplyLockTimeout} while its tail had to be cut.");
        }
        List<LocalCommit> taken;
        // An unpublished commit's chunks may have been applied as our own: its final entry may still commit.
        var unpublishedFrom = db.Unpublished?.FirstIndex ?? 0;
        try
        {
            db.ForgetAbandoned();
            db.FailUnpublished(reason);
            taken = db.TakeTail(from, out var mark);
            if (taken.Count == 0)
            {
                return unpublishedFrom;
            }
            try
            {
                RewindTo(db, mark);
            }
            finally
            {
                db.EndCut();
            }
            _log.TailCut(db.Name, taken.Count, mark);
        }
        finally
        {
            locks.Release(db.ApplyClient, ShmLockTable.WriteLock, 1);
        }
        foreach (var commit in taken)
        {
            commit.Fail(commit.AnyProposed ? reason
                : new RaftSqlException(RaftSqlErrorCode.NotLeader, "The write did not reach the log; nothing of it was committed."));
        }
        var cutFrom = taken[0].FirstIndex;
        return unpublishedFrom == 0 ? cutFrom : cutFrom == 0 ? unpublishedFrom : Math.Min(cutFrom, unpublishedFrom);
    }

    /// <summary>Publishes the WAL-index header as it was after frame <paramref name="mark"/> (new change counter,
    /// so every connection drops its page cache) and forgets the hash entries above it.</summary>
    private unsafe void RewindTo(ReplicatedDatabase db, uint mark)
    {
        var header = db.Index.ReadHeader()
            ?? throw new RaftSqlException(RaftSqlErrorCode.CorruptLog, $"The WAL-index of {db.Name} cannot be read.");
        if (header.MaxFrame <= mark)
        {
            return;
        }
        if (db.Index.CheckpointInfo->Backfill > mark)
        {
            throw new RaftSqlException(RaftSqlErrorCode.CorruptLog, $"{db.Name} was checkpointed past its commit point.");
        }
        if (mark == 0)
        {
            header.DatabasePages = (uint)(db.DatabaseFile!.Length / db.PageSize);
            header.FrameChecksum1 = header.FrameChecksum2 = 0;
        }
        else
        {
            Span<byte> frame = stackalloc byte[WalFormat.FrameHeaderSize];
            db.WalFile!.Read(frame, WalFormat.FrameOffset(mark, db.PageSize));
            header.DatabasePages = BinaryPrimitives.ReadUInt32BigEndian(frame[4..]);
            header.FrameChecksum1 = BinaryPrimitives.ReadUInt32BigEndian(frame[16..]);
            header.FrameChecksum2 = BinaryPrimitives.ReadUInt32BigEndian(frame[20..]);
            if (header.DatabasePages == 0)
            {
                throw new RaftSqlException(RaftSqlErrorCode.CorruptLog, $"Frame {mark} of {db.Name}'s WAL is not a commit frame.");
            }
        }
        header.MaxFrame = mark;
        header.Change++;
        db.Index.WriteHeader(ref header);
        db.Index.CleanupAfter(mark);
    }

    /// <summary>
    /// What the read transactions <paramref name="connection"/> began since the last call saw must be committed
    /// before their results leave the node: completes at once when they saw no speculative frame, else when
    /// the newest commit they could see is applied. Fails when a cut of the tail overlapped the read (retry it).
    /// Call it on the thread that ran the statement, after it stepped.
    /// </summary>
    public Task WhenVisibleCommitted(SqliteConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var state = FileState(connection);
        if (state is null)
        {
            return Task.CompletedTask; // no read transaction ran through our VFS
        }
        // Consumed: a later statement that begins no read transaction (SELECT 1) depends on nothing here.
        var snapshot = state.Client.Snapshot;
        state.Client.Snapshot = default;
        if (!snapshot.Began)
        {
            return Task.CompletedTask;
        }
        return state.Database.CommitVisibleTo(snapshot.Cuts, snapshot.Salt1, snapshot.MaxFrame)
            ?? Task.FromException(new RaftSqlException(RaftSqlErrorCode.NotLeader,
                "Leadership changed while the read ran; it saw writes that were not committed. Retry it."));
    }

    /// <summary>Forgets what earlier reads on <paramref name="connection"/> saw (a pooled connection's next user
    /// depends only on its own reads).</summary>
    public void ForgetReads(SqliteConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (FileState(connection) is { } state)
        {
            state.Client.Snapshot = default;
        }
    }

    private static unsafe DatabaseFileState? FileState(SqliteConnection connection)
    {
        void* file = null;
        var rc = SqliteApi.sqlite3_file_control(connection.Handle!.DangerousGetHandle(), null, SqliteApi.FcntlFilePointer, &file);
        if (rc != SqliteApi.Ok || file == null || ((SqliteFile*)file)->Methods == null)
        {
            return null;
        }
        var handle = ((WrappedFile*)file)->Handle;
        return handle == IntPtr.Zero ? null : GCHandle.FromIntPtr(handle).Target as DatabaseFileState;
    }
}
