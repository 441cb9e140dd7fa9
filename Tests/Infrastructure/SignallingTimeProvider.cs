using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace Hearth.Tests.Infrastructure;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that tells when code under test starts waiting on it (creates a timer), so that a
/// test moves time on exactly when that code waits, by exactly as much as it waits, never while it runs.
/// </summary>
public sealed class SignallingTimeProvider : TimeProvider
{
    private readonly FakeTimeProvider _time = new();
    private readonly Channel<TimeSpan> _timers = Channel.CreateUnbounded<TimeSpan>();

    public override DateTimeOffset GetUtcNow() => _time.GetUtcNow();

    public override long GetTimestamp() => _time.GetTimestamp();

    public override long TimestampFrequency => _time.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => _time.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = _time.CreateTimer(callback, state, dueTime, period);
        _timers.Writer.TryWrite(dueTime);
        return timer;
    }

    public void Advance(TimeSpan delta) => _time.Advance(delta);

    /// <summary>
    /// Until <paramref name="work"/> completes: waits for it to start waiting on a timer, then moves time on by that
    /// timer's due time.
    /// </summary>
    public async Task RunAsync(Task work, TimeSpan timeout)
    {
        using var stop = new CancellationTokenSource(timeout);
        while (!work.IsCompleted)
        {
            var timer = _timers.Reader.ReadAsync(stop.Token).AsTask();
            if (await Task.WhenAny(work, timer).WaitAsync(timeout) == timer)
            {
                Advance(await timer);
            }
        }

        await work;
    }
}
