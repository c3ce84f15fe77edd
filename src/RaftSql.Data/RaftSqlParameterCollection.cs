using System.Collections;
using System.Data.Common;

namespace RaftSql.Data;

/// <summary>The parameters of a <see cref="RaftSqlCommand"/>, looked up by name with or without prefix.</summary>
public sealed class RaftSqlParameterCollection : DbParameterCollection
{
    private readonly List<RaftSqlParameter> _parameters = [];

    internal RaftSqlParameterCollection()
    {
    }

    /// <summary>The number of parameters.</summary>
    public override int Count => _parameters.Count;

    /// <summary>An object to synchronize access with.</summary>
    public override object SyncRoot => ((ICollection)_parameters).SyncRoot;

    /// <summary>The parameter at <paramref name="index"/>.</summary>
    public new RaftSqlParameter this[int index]
    {
        get => _parameters[index];
        set => _parameters[index] = value;
    }

    /// <summary>The parameter named <paramref name="parameterName"/>.</summary>
    /// <exception cref="IndexOutOfRangeException">No parameter has that name.</exception>
    public new RaftSqlParameter this[string parameterName]
    {
        get => _parameters[IndexOrThrow(parameterName)];
        set => _parameters[IndexOrThrow(parameterName)] = value;
    }

    /// <summary>Adds <paramref name="value"/>, which must be a <see cref="RaftSqlParameter"/>; returns its index.</summary>
    public override int Add(object value)
    {
        _parameters.Add(Cast(value));
        return _parameters.Count - 1;
    }

    /// <summary>Adds <paramref name="parameter"/> and returns it.</summary>
    public RaftSqlParameter Add(RaftSqlParameter parameter)
    {
        _parameters.Add(parameter ?? throw new ArgumentNullException(nameof(parameter)));
        return parameter;
    }

    /// <summary>Adds a parameter named <paramref name="parameterName"/> holding <paramref name="value"/>.</summary>
    public RaftSqlParameter AddWithValue(string? parameterName, object? value) => Add(new RaftSqlParameter(parameterName, value));

    /// <summary>Adds every element of <paramref name="values"/> (each a <see cref="RaftSqlParameter"/>).</summary>
    public override void AddRange(Array values)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (object? value in values)
            Add(value!);
    }

    /// <summary>Removes every parameter.</summary>
    public override void Clear() => _parameters.Clear();

    /// <summary>True when <paramref name="value"/> is in the collection.</summary>
    public override bool Contains(object value) => value is RaftSqlParameter p && _parameters.Contains(p);

    /// <summary>True when a parameter is named <paramref name="value"/> (prefix optional).</summary>
    public override bool Contains(string value) => IndexOf(value) >= 0;

    /// <summary>Copies the parameters into <paramref name="array"/> from <paramref name="index"/>.</summary>
    public override void CopyTo(Array array, int index) => ((ICollection)_parameters).CopyTo(array, index);

    /// <summary>Enumerates the parameters in order.</summary>
    public override IEnumerator GetEnumerator() => _parameters.GetEnumerator();

    /// <summary>The index of <paramref name="value"/>, or -1.</summary>
    public override int IndexOf(object value) => value is RaftSqlParameter p ? _parameters.IndexOf(p) : -1;

    /// <summary>The index of the parameter named <paramref name="parameterName"/> (prefix optional), or -1.</summary>
    public override int IndexOf(string parameterName)
    {
        string wanted = WithoutPrefix(parameterName);
        return _parameters.FindIndex(p => string.Equals(WithoutPrefix(p.ParameterName), wanted, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Inserts <paramref name="value"/> at <paramref name="index"/>.</summary>
    public override void Insert(int index, object value) => _parameters.Insert(index, Cast(value));

    /// <summary>Removes <paramref name="value"/>.</summary>
    public override void Remove(object value) => _parameters.Remove(Cast(value));

    /// <summary>Removes the parameter at <paramref name="index"/>.</summary>
    public override void RemoveAt(int index) => _parameters.RemoveAt(index);

    /// <summary>Removes the parameter named <paramref name="parameterName"/>.</summary>
    public override void RemoveAt(string parameterName) => _parameters.RemoveAt(IndexOrThrow(parameterName));

    /// <inheritdoc />
    protected override DbParameter GetParameter(int index) => _parameters[index];

    /// <inheritdoc />
    protected override DbParameter GetParameter(string parameterName) => this[parameterName];

    /// <inheritdoc />
    protected override void SetParameter(int index, DbParameter value) => _parameters[index] = Cast(value);

    /// <inheritdoc />
    protected override void SetParameter(string parameterName, DbParameter value) => _parameters[IndexOrThrow(parameterName)] = Cast(value);

    internal IReadOnlyList<RaftSqlParameter> Items => _parameters;

    internal static string WithoutPrefix(string name) =>
        name.Length > 0 && name[0] is '@' or ':' or '$' ? name[1..] : name;

    private int IndexOrThrow(string parameterName)
    {
        int index = IndexOf(parameterName);
        return index >= 0 ? index : throw new IndexOutOfRangeException($"No parameter named '{parameterName}'.");
    }

    private static RaftSqlParameter Cast(object value) => value as RaftSqlParameter
        ?? throw new InvalidCastException($"Only RaftSqlParameter objects can be added, not {value?.GetType().Name ?? "null"}.");
}
