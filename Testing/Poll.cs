namespace Hearth.Testing;

/// <summary>
/// Asks again, at a short interval, until a condition on another process (its database rows, its HTTP
/// answers) holds: such conditions raise no event in this process to wait on.
/// </summary>
public static class Poll
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>Re-evaluates <paramref name="condition"/> until it holds.</summary>
    /// <param name="describe">Adds the state found to the timeout's message.</param>
    /// <exception cref="TimeoutException">It did not hold within <paramref name="timeout"/>; the message names <paramref name="what"/>.</exception>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, Func<Task<string>>? describe = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition().ConfigureAwait(false))
        {
            if (DateTime.UtcNow > deadline)
            {
                var state = describe is null ? "" : ": " + await describe().ConfigureAwait(false);
                throw new TimeoutException($"{what}: not reached within {timeout}{state}");
            }

            await Task.Delay(PollInterval).ConfigureAwait(false);
        }
    }
}
