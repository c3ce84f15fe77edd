using Google.Protobuf.Collections;
using RaftSql.Data.Channels;
using RaftSql.Data.Values;
using RaftSql.Protocol;

namespace RaftSql.Data.Results;

/// <summary>
/// Rows that arrive in pages over the client protocol. Only the current page is held; the next one is
/// fetched when the reader reaches its end, so a large result never sits whole in memory.
/// </summary>
internal sealed class PagedResults : IResultCursor
{
    private readonly IClusterChannel _channel;
    private readonly TimeSpan _timeout;
    private readonly Action<RowPage> _observe;
    private RepeatedField<Column> _columns;
    private RowPage _page;
    private RowPage? _nextResultSet;
    private int _rowIndex = -1;
    private bool _onRow;
    private bool? _hasRows;
    private int _recordsAffected = -1;
    private bool _disposed;

    public PagedResults(IClusterChannel channel, RowPage first, TimeSpan timeout, Action<RowPage> observe)
    {
        _channel = channel;
        _timeout = timeout;
        _observe = observe;
        _page = first;
        _columns = first.Columns;
        Observe(first);
    }

    public int FieldCount => _columns.Count;

    public int RecordsAffected => _recordsAffected;

    public bool OnRow => _onRow;

    public string GetName(int ordinal) => _columns[ordinal].Name;

    public string GetDeclaredType(int ordinal) => _columns[ordinal].DeclaredType;

    public SqlValue GetValue(int ordinal)
    {
        RepeatedField<Value> values = _page.Rows[_rowIndex].Values;
        return ordinal < values.Count ? SqlValue.FromWire(values[ordinal]) : SqlValue.Null;
    }

    public async ValueTask<bool> HasRowsAsync(CancellationToken cancellationToken)
    {
        if (_hasRows is { } known)
            return known;
        if (_onRow || _rowIndex + 1 < _page.Rows.Count)
            return (_hasRows = true).Value;
        // Nothing read yet and this page is empty: look at the next page of the same result set.
        while (_nextResultSet is null && !_page.Done)
        {
            RowPage next = await FetchAsync(cancellationToken).ConfigureAwait(false);
            if (next.ResultSet != _page.ResultSet)
            {
                _nextResultSet = next;
                break;
            }
            _page = next;
            _rowIndex = -1;
            if (next.Rows.Count > 0)
                return (_hasRows = true).Value;
        }
        return (_hasRows = false).Value;
    }

    public async ValueTask<bool> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_rowIndex + 1 < _page.Rows.Count)
            {
                _rowIndex++;
                _hasRows = true;
                return _onRow = true;
            }
            _onRow = false;
            if (_nextResultSet is not null || _page.Done)
                return false;
            RowPage next = await FetchAsync(cancellationToken).ConfigureAwait(false);
            if (next.ResultSet != _page.ResultSet)
            {
                _nextResultSet = next;
                return false;
            }
            _page = next;
            _rowIndex = -1;
        }
    }

    public async ValueTask<bool> NextResultAsync(CancellationToken cancellationToken)
    {
        _onRow = false;
        while (_nextResultSet is null && !_page.Done)
        {
            // Skip what is left of the current result set.
            RowPage next = await FetchAsync(cancellationToken).ConfigureAwait(false);
            if (next.ResultSet != _page.ResultSet)
                _nextResultSet = next;
            else
                _page = next;
        }
        if (_nextResultSet is not { } following)
        {
            _rowIndex = _page.Rows.Count;
            _columns = [];
            return false;
        }
        _nextResultSet = null;
        _page = following;
        _columns = following.Columns;
        _rowIndex = -1;
        _hasRows = null;
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        RowPage last = _nextResultSet ?? _page;
        if (!last.Done && last.CursorId != 0)
        {
            try
            {
                await _channel.SendAsync(new ClientRequest { CloseCursor = new CloseCursorRequest { CursorId = last.CursorId } },
                    _timeout, CancellationToken.None).ConfigureAwait(false);
            }
            catch (RaftSqlException)
            {
                // The cursor dies with its connection anyway.
            }
        }
    }

    private async Task<RowPage> FetchAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var request = new ClientRequest { FetchPage = new FetchPageRequest { CursorId = _page.CursorId } };
        ClientResponse response = await _channel.SendAsync(request, _timeout, cancellationToken).ConfigureAwait(false);
        if (response.ResponseCase != ClientResponse.ResponseOneofCase.RowPage)
            throw new RaftSqlException(RaftSqlErrorCode.ProtocolError, $"Expected a row page, got {response.ResponseCase}.");
        Observe(response.RowPage);
        return response.RowPage;
    }

    private void Observe(RowPage page)
    {
        // The node sends the count with the last page: -1 when the command only read.
        if (page.Done)
            _recordsAffected = checked((int)page.RowsAffected);
        _observe(page);
    }
}
