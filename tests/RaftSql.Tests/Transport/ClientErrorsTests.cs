using Google.Protobuf;
using RaftSql.Protocol;
using RaftSql.Transport;

namespace RaftSql.Tests.Transport;

public class ClientErrorsTests
{
    [Fact]
    public void An_exception_survives_the_round_trip_through_the_wire_form()
    {
        var original = new RaftSqlException(RaftSqlErrorCode.SqlError, "no such table: t") { SqliteErrorCode = 1 };
        var leader = new NodeInfo { Id = 2, Address = "127.0.0.1:9002", Role = NodeRole.Voter, IsLeader = true };

        Error error = ClientErrors.ToError(original, leader);
        RaftSqlException copy = ClientErrors.ToException(Error.Parser.ParseFrom(error.ToByteArray()));

        Assert.Equal(leader, error.LeaderHint);
        Assert.Equal(RaftSqlErrorCode.SqlError, copy.Code);
        Assert.Equal("no such table: t", copy.Message);
        Assert.Equal(1, copy.SqliteErrorCode);
    }

    [Fact]
    public void An_unknown_code_becomes_a_protocol_error()
    {
        RaftSqlException exception = ClientErrors.ToException(new Error { Code = 999, Message = "from the future" });

        Assert.Equal(RaftSqlErrorCode.ProtocolError, exception.Code);
        Assert.Contains("from the future", exception.Message);
    }

    [Fact]
    public void ThrowIfError_passes_results_through_and_throws_errors()
    {
        var ok = new ClientResponse { Ack = new Ack() };
        var failed = new ClientResponse { Error = new Error { Code = (int)RaftSqlErrorCode.NotLeader, Message = "ask 2" } };

        Assert.Same(ok, ok.ThrowIfError());
        Assert.Equal(RaftSqlErrorCode.NotLeader, Assert.Throws<RaftSqlException>(() => failed.ThrowIfError()).Code);
    }
}
