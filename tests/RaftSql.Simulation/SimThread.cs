using System.Runtime.ExceptionServices;

namespace RaftSql.Simulation;

/// <summary>
/// Runs one seed on a thread of its own: no synchronization context and no task scheduler (xunit's would
/// send continuations to other threads), and a deep stack, because every continuation runs inline and .NET
/// hops to the thread pool when the stack runs low.
/// </summary>
internal static class SimThread
{
    private const int StackBytes = 256 * 1024 * 1024;

    public static T Run<T>(Func<T> body)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = body();
            }
            catch (Exception ex)
            {
                failure = ExceptionDispatchInfo.Capture(ex);
            }
        }, StackBytes) { IsBackground = true, Name = "nodesim" };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }
}
