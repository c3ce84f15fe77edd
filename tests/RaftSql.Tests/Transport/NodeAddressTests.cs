using RaftSql.Transport;

namespace RaftSql.Tests.Transport;

public class NodeAddressTests
{
    [Theory]
    [InlineData("127.0.0.1:9001", "127.0.0.1", 9001)]
    [InlineData("localhost:1", "localhost", 1)]
    [InlineData("node-2.example:65535", "node-2.example", 65535)]
    [InlineData("[::1]:9001", "::1", 9001)]
    public void Valid_addresses_parse_into_host_and_port(string text, string host, int port)
    {
        Assert.Equal(new NodeAddress(host, port), NodeAddress.Parse(text));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("host:")]
    [InlineData(":9001")]
    [InlineData("host:0")]
    [InlineData("host:70000")]
    [InlineData("host:-1")]
    [InlineData("::1")]
    [InlineData("fe80::1:9001")]
    public void Malformed_addresses_are_refused(string text)
    {
        Assert.Throws<FormatException>(() => NodeAddress.Parse(text));
    }

    [Fact]
    public void IPv6_hosts_are_written_back_in_brackets()
    {
        Assert.Equal("[::1]:9001", NodeAddress.Parse("[::1]:9001").ToString());
        Assert.Equal("127.0.0.1:9001", NodeAddress.Parse("127.0.0.1:9001").ToString());
    }
}
