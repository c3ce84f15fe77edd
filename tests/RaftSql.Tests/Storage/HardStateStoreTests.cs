using RaftSql.Storage;

namespace RaftSql.Tests.Storage;

public class HardStateStoreTests
{
    [Fact]
    public void Nothing_saved_reads_as_zeros()
    {
        using var dir = new TempDirectory();
        Assert.Equal(default, new HardStateStore(dir.Path).Load());
    }

    [Fact]
    public void Saved_state_round_trips_and_the_last_save_wins()
    {
        using var dir = new TempDirectory();
        var store = new HardStateStore(dir.Path);
        store.Save(new HardState(3, 2, 17));
        store.Save(new HardState(ulong.MaxValue, 5, 18));

        Assert.Equal(new HardState(ulong.MaxValue, 5, 18), new HardStateStore(dir.Path).Load());
        Assert.False(File.Exists(store.FilePath + AtomicFile.TempSuffix));
    }

    [Fact]
    public void A_temp_file_left_by_a_crash_is_ignored_and_then_replaced()
    {
        using var dir = new TempDirectory();
        var store = new HardStateStore(dir.Path);
        store.Save(new HardState(4, 1, 9));
        File.WriteAllBytes(store.FilePath + AtomicFile.TempSuffix, [1, 2, 3]);

        Assert.Equal(new HardState(4, 1, 9), store.Load());
        store.Save(new HardState(5, 1, 9));
        Assert.Equal(new HardState(5, 1, 9), store.Load());
    }

    [Fact]
    public void A_flipped_bit_anywhere_is_corruption()
    {
        using var dir = new TempDirectory();
        var store = new HardStateStore(dir.Path);
        store.Save(new HardState(4, 1, 9));
        byte[] good = File.ReadAllBytes(store.FilePath);

        for (int bit = 0; bit < good.Length * 8; bit++)
        {
            byte[] bad = good.ToArray();
            bad[bit / 8] ^= (byte)(1 << (bit % 8));
            File.WriteAllBytes(store.FilePath, bad);

            var error = Assert.Throws<RaftSqlException>(() => store.Load());
            Assert.Equal(RaftSqlErrorCode.CorruptLog, error.Code);
        }
    }

    [Fact]
    public void A_short_file_is_corruption()
    {
        using var dir = new TempDirectory();
        var store = new HardStateStore(dir.Path);
        store.Save(new HardState(4, 1, 9));
        File.WriteAllBytes(store.FilePath, File.ReadAllBytes(store.FilePath)[..10]);

        Assert.Equal(RaftSqlErrorCode.CorruptLog, Assert.Throws<RaftSqlException>(() => store.Load()).Code);
    }
}
