using Microsoft.Extensions.Logging;
using RaftSql.Protocol;

namespace RaftSql.Transport;

/// <summary>Answers one client request. A <see cref="RaftSqlException"/> becomes an Error response.</summary>
internal delegate Task<ClientResponse> ClientRequestHandler(ClientRequest request, CancellationToken cancellationToken);

/// <summary>
/// The server side of the client protocol on one connection: reads requests, runs up to
/// <c>maxConcurrentRequests</c> of them at once, and writes each answer as soon as it is ready, with
/// the request's id. Reading pauses while all slots are busy, so a flooding client is slowed down by
/// TCP instead of growing our memory.
/// </summary>
internal static class ClientRequestLoop
{
    public const int DefaultMaxConcurrentRequests = 64;

    /// <summary>Serves until the client closes the connection (returns) or sends bad input (throws
    /// ProtocolError/MessageTooLarge). Handlers get a token that fires when the server stops or the
    /// connection ends; requests still running are awaited before returning.</summary>
    public static async Task ServeAsync(Connection connection, ClientRequestHandler handler, ILogger logger,
        CancellationToken stopping, int maxConcurrentRequests = DefaultMaxConcurrentRequests)
    {
        using var slots = new SemaphoreSlim(maxConcurrentRequests, maxConcurrentRequests);
        using var connectionEnded = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        try
        {
            while (true)
            {
                await slots.WaitAsync(stopping).ConfigureAwait(false);
                ClientRequest? request;
                try
                {
                    request = await connection.ReceiveAsync(ClientRequest.Parser, stopping).ConfigureAwait(false);
                }
                catch
                {
                    slots.Release();
                    throw;
                }

                if (request is null)
                {
                    slots.Release();
                    return;
                }

                _ = AnswerAsync(connection, request, handler, logger, slots, connectionEnded.Token, stopping);
            }
        }
        finally
        {
            await connectionEnded.CancelAsync().ConfigureAwait(false);
            // Holding every slot means no request is running any more.
            for (int i = 0; i < maxConcurrentRequests; i++)
            {
                await slots.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private static async Task AnswerAsync(Connection connection, ClientRequest request, ClientRequestHandler handler,
        ILogger logger, SemaphoreSlim slots, CancellationToken connectionEnded, CancellationToken stopping)
    {
        try
        {
            ClientResponse response;
            try
            {
                response = await handler(request, connectionEnded).ConfigureAwait(false);
            }
            catch (RaftSqlException ex)
            {
                response = new ClientResponse { Error = ClientErrors.ToError(ex) };
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                response = new ClientResponse
                {
                    Error = ClientErrors.ToError(new RaftSqlException(RaftSqlErrorCode.NodeStopped, "The node is stopping.")),
                };
            }
            catch (OperationCanceledException) when (connectionEnded.IsCancellationRequested)
            {
                return; // the client is gone; nobody is waiting for this answer
            }

            response.RequestId = request.RequestId;
            await connection.SendAsync(response, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ConnectionFailure.IsConnectionLoss(ex))
        {
            // The client is gone; there is nobody left to answer.
        }
        catch (Exception ex)
        {
            // A bug in the handler: close the connection so the client fails fast instead of waiting
            // for an answer that will never come.
            TransportLog.RequestFailed(logger, ex, request.RequestCase, connection.RemoteEndPoint);
            connection.Abort();
        }
        finally
        {
            slots.Release();
        }
    }
}
