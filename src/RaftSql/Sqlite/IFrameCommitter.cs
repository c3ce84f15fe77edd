namespace RaftSql.Sqlite;

/// <summary>
/// Hands the entries of local write transactions to the Raft log (the Raft host implements it).
/// Both methods are called on SQLite's thread while it holds the database's write lock, so entries
/// reach the log in exactly the order their frames are in the WAL. Neither waits for a commit:
/// the outcome arrives later, when the entry is applied (<see cref="ReplicationEngine.ApplyCommitted(ulong, ulong, ReadOnlySpan{byte})"/>)
/// or the tail is cut (<see cref="ReplicationEngine.CutTails"/>).
/// </summary>
public interface IFrameCommitter
{
    /// <summary>Throws a <see cref="RaftSqlException"/> when this node does not accept local writes now
    /// (not the leader, or the leader has not applied its term's first entry yet).</summary>
    void Admit(string database);

    /// <summary>Queues one entry of <paramref name="commit"/> for the log, in call order. Call
    /// <see cref="LocalCommit.Proposed"/> once the log accepted it; when it is refused, cut the tail
    /// from this commit (<see cref="ReplicationEngine.CutTail"/>). May block for flow control. Throws only when
    /// nothing was queued: the capture counts an entry as handed over once this returns, and abandons (leaves out
    /// on this node) what it handed over of a transaction that then fails.</summary>
    void Propose(LocalCommit commit, byte[] entry, bool final);

    /// <summary>Queues the abort entry (<see cref="FrameSet.IsAbort"/>) of <paramref name="commit"/>, a big transaction
    /// whose writer failed after handing over some chunks, after those chunks. Called with the write lock held, after
    /// the commit failed; must not wait for flow control (the budget may be what failed). Drop it when the commit's
    /// tail was cut: the next term ends the transaction everywhere.</summary>
    void ProposeAbort(LocalCommit commit, byte[] entry) => Propose(commit, entry, final: false);

    /// <summary>A transaction of <paramref name="database"/> committed through the log, but SQLite failed after its
    /// commit frame and it never reached this node's WAL (<paramref name="error"/>). The database takes no more
    /// local writes; the node must stop and replay the entry from its log at restart.</summary>
    void CommitLost(string database, RaftSqlException error)
    {
    }

    /// <summary>Committed log entries [<paramref name="from"/>, <paramref name="to"/>], called on the apply thread: the
    /// engine stages again the chunks of an own big transaction that it applied as its own (only the commit mark moved)
    /// before SQLite failed to publish it, so that its later chunks and final entry apply like another leader's.</summary>
    IEnumerable<(ulong Index, ulong Term, ReadOnlyMemory<byte> Data)> ReadLog(ulong from, ulong to) =>
        throw new RaftSqlException(RaftSqlErrorCode.CorruptLog, $"Entries {from}..{to} are needed again but this node keeps no log.");
}
