namespace Hearth.Silo.Cluster;

/// <summary>
/// Repeats a grain call that Orleans refused because the silo holding the grain's activation stopped answering
/// (<see cref="OrleansMessageRejectionException"/>, <see cref="SiloUnavailableException"/>): until the cluster
/// declares that silo dead, every call to its grains is refused at once; after, the grain activates on a live
/// silo and the call succeeds. So the call is repeated, backing off, for at most <see cref="Window"/>.
/// Only for calls that are safe to repeat (reads).
/// </summary>
public sealed partial class UnreachableSiloRetry(TimeProvider time, ILogger<UnreachableSiloRetry> logger)
{
    /// <summary>
    /// How long a call is repeated: longer than the cluster takes to declare a crashed silo dead with the silo's
    /// failure detection defaults (<c>Orleans:Membership</c>, a few seconds).
    /// </summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(1);

    /// <summary>Whether Orleans refused the call because of where the grain is, not because of what the grain did.</summary>
    public static bool IsUnreachable(Exception e) => e is OrleansMessageRejectionException;

    /// <summary>
    /// Runs <paramref name="call"/>, repeating it while Orleans refuses it as unreachable and <see cref="Window"/>
    /// has not passed. Any other failure, and the last refusal, is thrown.
    /// </summary>
    /// <param name="what">What is called, for the log.</param>
    public async Task<T> RunAsync<T>(Func<Task<T>> call, string what, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(call);
        var started = time.GetTimestamp();
        var delay = FirstDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call().ConfigureAwait(false);
            }
            catch (Exception e) when (IsUnreachable(e))
            {
                var elapsed = time.GetElapsedTime(started);
                if (elapsed + delay >= Window)
                {
                    LogGaveUp(logger, what, attempt, elapsed.TotalSeconds, Reason(e));
                    throw;
                }

                LogRepeating(logger, what, attempt, Reason(e));
                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
            }
        }
    }

    /// <summary>The first line of the refusal: Orleans puts the inner failure's stack trace into the message.</summary>
    public static string Reason(Exception e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var message = e.Message;
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{What}: attempt {Attempt} refused ({Reason}); repeating")]
    private static partial void LogRepeating(ILogger logger, string what, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{What}: refused {Attempts} times over {Seconds:F1} s, the silo holding it still unreachable ({Reason})")]
    private static partial void LogGaveUp(ILogger logger, string what, int attempts, double seconds, string reason);
}
