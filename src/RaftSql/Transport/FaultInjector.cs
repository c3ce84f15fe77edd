namespace RaftSql.Transport;

/// <summary>
/// In-process network faults for tests of whole clusters (the test kernel has no netem): blocked
/// links between node ids, random loss and added delay. <see cref="PeerSender"/> and
/// <see cref="ClientConnection"/> consult it for every message they send or receive; one instance is
/// shared by all nodes of a test cluster. Thread-safe.
/// </summary>
internal sealed class FaultInjector
{
    private readonly Lock _lock = new();
    private readonly HashSet<(ulong From, ulong To)> _blocked = [];
    private readonly Random _random;
    private double _dropProbability;
    private TimeSpan _minDelay;
    private TimeSpan _maxDelay;

    /// <param name="seed">Seed for loss and delay jitter, so a failing run can be replayed.</param>
    public FaultInjector(int seed = 0)
    {
        _random = new Random(seed);
    }

    /// <summary>Drops everything <paramref name="from"/> sends to <paramref name="to"/> (one way).</summary>
    public void BlockOneWay(ulong from, ulong to)
    {
        lock (_lock)
        {
            _blocked.Add((from, to));
        }
    }

    /// <summary>Cuts the link between two nodes in both directions.</summary>
    public void Block(ulong a, ulong b)
    {
        lock (_lock)
        {
            _blocked.Add((a, b));
            _blocked.Add((b, a));
        }
    }

    /// <summary>Cuts every link between the two sides (symmetric partition).</summary>
    public void Partition(IReadOnlyCollection<ulong> side, IReadOnlyCollection<ulong> otherSide)
    {
        lock (_lock)
        {
            foreach (ulong a in side)
            {
                foreach (ulong b in otherSide)
                {
                    _blocked.Add((a, b));
                    _blocked.Add((b, a));
                }
            }
        }
    }

    /// <summary>Removes every blocked link; loss and delay settings stay.</summary>
    public void Heal()
    {
        lock (_lock)
        {
            _blocked.Clear();
        }
    }

    /// <summary>Probability in [0, 1] that any message is lost.</summary>
    public void SetDropProbability(double probability)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(probability, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(probability, 1);
        lock (_lock)
        {
            _dropProbability = probability;
        }
    }

    /// <summary>Adds a uniformly random delay in [<paramref name="min"/>, <paramref name="max"/>] to
    /// every delivered message. Order between two nodes is kept (as on a TCP link).</summary>
    public void SetDelay(TimeSpan min, TimeSpan max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(min, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, min);
        lock (_lock)
        {
            _minDelay = min;
            _maxDelay = max;
        }
    }

    /// <summary>Called on the sending thread before every decision, with the message's sender and addressee:
    /// tests observe what a node had made durable at the moment it sent something.</summary>
    public Action<ulong, ulong>? Observer { get; set; }

    /// <summary>Decides the fate of one message from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public FaultDecision Decide(ulong from, ulong to)
    {
        Observer?.Invoke(from, to);
        lock (_lock)
        {
            if (_blocked.Contains((from, to)) || (_dropProbability > 0 && _random.NextDouble() < _dropProbability))
            {
                return FaultDecision.Drop;
            }

            TimeSpan delay = _maxDelay == _minDelay
                ? _minDelay
                : _minDelay + (_maxDelay - _minDelay) * _random.NextDouble();
            return new FaultDecision(Deliver: true, delay);
        }
    }
}

/// <summary>Whether a message is delivered and how long it is held back first.</summary>
internal readonly record struct FaultDecision(bool Deliver, TimeSpan Delay)
{
    public static FaultDecision Drop => new(false, TimeSpan.Zero);
}
