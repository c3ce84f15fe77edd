using System.Runtime.InteropServices;

namespace RaftSql.Sqlite.Wal;

/// <summary>
/// <c>WalIndexHdr</c> from wal.c: 48 bytes, host byte order, stored twice at the start of the
/// WAL-index. Salts hold the raw WAL-file bytes. <see cref="HeaderChecksum1"/>/2 cover the first 40 bytes.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
internal struct WalIndexHeader
{
    public const int Size = 48;
    public const uint CurrentVersion = 3007000;

    public uint Version;
    public uint Unused;
    public uint Change;
    public byte IsInit;
    public byte BigEndianChecksum;
    public ushort EncodedPageSize;
    public uint MaxFrame;
    public uint DatabasePages;
    public uint FrameChecksum1;
    public uint FrameChecksum2;
    public uint Salt1;
    public uint Salt2;
    public uint HeaderChecksum1;
    public uint HeaderChecksum2;

    /// <summary>Page sizes up to 32768 are stored as is; 65536 is stored as 1.</summary>
    public int PageSize
    {
        readonly get => EncodedPageSize == 1 ? 65536 : EncodedPageSize;
        set => EncodedPageSize = (ushort)((value & 0xff00) | (value >> 16));
    }
}

/// <summary><c>WalCkptInfo</c> from wal.c: follows the two header copies (offset 96, 40 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Size = 40)]
internal unsafe struct WalCheckpointInfo
{
    public const int Readers = 5;
    public const uint ReadMarkNotUsed = 0xffffffff;

    public uint Backfill;
    public fixed uint ReadMark[Readers];
    public fixed byte Lock[8];
    public uint BackfillAttempted;
    public uint NotUsed;
}
