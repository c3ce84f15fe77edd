using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace RaftSql.Tests.Cluster;

/// <summary>Records the event ids a node logs, so tests can check which path was taken.</summary>
internal sealed class EventRecorder : ILoggerFactory, ILogger
{
    private readonly ConcurrentQueue<(int Id, string Message)> _events = new();

    public bool Saw(int eventId) => _events.Any(e => e.Id == eventId);

    public IEnumerable<string> Messages => _events.Select(e => $"{e.Id}: {e.Message}");

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
        Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
            _events.Enqueue((eventId.Id, exception is null ? formatter(state, exception) : $"{formatter(state, exception)}: {exception.GetType().Name}: {exception.Message}"));
    }

    public void Dispose()
    {
    }
}
