namespace RaftSql.Raft;

/// <summary>The only source of randomness the core uses (election timeout jitter), injected so runs replay.</summary>
public interface IRandomSource
{
    /// <summary>Returns a value in [0, maxExclusive).</summary>
    int Next(int maxExclusive);
}

/// <summary>A seeded, deterministic <see cref="IRandomSource"/> (xorshift64*), independent of the runtime's Random.</summary>
public sealed class SeededRandomSource : IRandomSource
{
    private ulong _state;

    public SeededRandomSource(ulong seed) => _state = seed == 0 ? 0x9E3779B97F4A7C15UL : seed;

    public int Next(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        _state ^= _state >> 12;
        _state ^= _state << 25;
        _state ^= _state >> 27;
        return (int)((_state * 0x2545F4914F6CDD1DUL >> 33) % (ulong)maxExclusive);
    }
}
