namespace RaftSql.Gateway;

/// <summary>A caller's token that is also cancelled after a time span of the node's clock (a
/// CancellationTokenSource.CancelAfter that follows an injected <see cref="TimeProvider"/>).</summary>
internal sealed class Deadline : IDisposable
{
    private readonly CancellationTokenSource _source;
    private readonly CancellationTokenSource _timeout;

    public Deadline(TimeProvider time, TimeSpan after, CancellationToken cancellationToken)
    {
        _timeout = new CancellationTokenSource(after, time);
        _source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _timeout.Token);
    }

    public CancellationToken Token => _source.Token;

    public void Dispose()
    {
        _source.Dispose();
        _timeout.Dispose();
    }
}
