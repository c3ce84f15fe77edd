using RaftSql.Storage;

namespace RaftSql.Tests.Storage;

public class AtomicFileTests
{
    [Fact]
    public void Write_creates_then_replaces_the_whole_content()
    {
        using var dir = new TempDirectory();
        string path = dir.File("state");
        AtomicFile.Write(path, new byte[100]);
        AtomicFile.Write(path, [7, 8, 9]);

        Assert.Equal([7, 8, 9], File.ReadAllBytes(path));
        Assert.Equal(["state"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void A_leftover_temp_file_is_overwritten()
    {
        using var dir = new TempDirectory();
        string path = dir.File("state");
        File.WriteAllBytes(path + AtomicFile.TempSuffix, new byte[5000]);
        AtomicFile.Write(path, [1]);

        Assert.Equal([1], File.ReadAllBytes(path));
        Assert.False(File.Exists(path + AtomicFile.TempSuffix));
    }

    [Fact]
    public void Fsync_of_a_missing_directory_fails_with_an_io_error()
    {
        using var dir = new TempDirectory();
        if (!OperatingSystem.IsWindows())
        {
            Assert.Throws<IOException>(() => AtomicFile.FsyncDirectory(dir.File("missing")));
        }
    }
}
