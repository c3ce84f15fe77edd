namespace RaftSql.Histories;

/// <summary>The kinds of register operation.</summary>
public enum RegisterOpKind
{
    /// <summary>Read the register's value.</summary>
    Read = 0,

    /// <summary>Set the register to <see cref="RegisterCall.Value"/>.</summary>
    Write = 1,

    /// <summary>Set the register to <see cref="RegisterCall.Value"/> if it holds <see cref="RegisterCall.Expected"/>.</summary>
    Cas = 2,
}

/// <summary>An operation on the register named <paramref name="Key"/>. Values are best unique per key: a read
/// then names the write it saw.</summary>
public readonly record struct RegisterCall(long Key, RegisterOpKind Kind, long? Value = null, long? Expected = null)
{
    /// <summary>A read of <paramref name="key"/>.</summary>
    public static RegisterCall Read(long key) => new(key, RegisterOpKind.Read);

    /// <summary>A write of <paramref name="value"/> to <paramref name="key"/>.</summary>
    public static RegisterCall Write(long key, long value) => new(key, RegisterOpKind.Write, value);

    /// <summary>A compare-and-set of <paramref name="key"/> from <paramref name="expected"/> to <paramref name="value"/>.</summary>
    public static RegisterCall Cas(long key, long? expected, long value) => new(key, RegisterOpKind.Cas, value, expected);

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        RegisterOpKind.Read => $"read({Key})",
        RegisterOpKind.Write => $"write({Key}, {Value})",
        _ => $"cas({Key}, {Show(Expected)} -> {Value})",
    };

    internal static string Show(long? value) => value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "nil";
}

/// <summary>
/// The answer to a <see cref="RegisterCall"/>: the value a read saw (null: never written), whether a CAS
/// succeeded, and optionally the version the operation saw or created (for <see cref="SessionChecker"/>;
/// versions count the writes to a key, in the order they took effect).
/// </summary>
public sealed record RegisterResult(long? Value = null, bool Succeeded = true, long? Version = null)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"{RegisterCall.Show(Value)}{(Succeeded ? "" : " (cas failed)")}{(Version is { } v ? $" @v{v}" : "")}";
}
