using System.Threading.Channels;
using Hearth.Silo.Cluster;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Hearth.Tests.Unit;

/// <summary>How the API repeats a read refused because the silo holding the grain stopped answering.</summary>
[Trait("Category", "Unit")]
public sealed class UnreachableSiloRetryTests
{
    private readonly SteppedTimeProvider _time = new();

    [Fact]
    public async Task RunAsync_RefusedUntilTheClusterMovesTheGrain_AnswersOnceItIsReachable()
    {
        var attempts = 0;
        var answer = await DriveAsync(Retry().RunAsync(
            () => ++attempts < 4 ? Task.FromException<int>(new SiloUnavailableException("silo S127.0.0.1:11112 unreachable")) : Task.FromResult(42),
            "Reading thermostat t-1"));

        Assert.Equal((42, 4), (answer, attempts));
    }

    [Fact]
    public async Task RunAsync_RefusedThroughoutTheWindow_ThrowsTheRefusalBeforeTheWindowEnds()
    {
        var start = _time.GetTimestamp();
        var attempts = new List<TimeSpan>();
        var run = Retry().RunAsync<int>(() =>
        {
            attempts.Add(_time.GetElapsedTime(start));
            return Task.FromException<int>(new SiloUnavailableException("silo S127.0.0.1:11112 unreachable"));
        }, "Reading thermostat t-1");

        await Assert.ThrowsAsync<SiloUnavailableException>(() => DriveAsync(run));

        Assert.True(attempts.Count > 5, $"only {attempts.Count} attempts");
        Assert.InRange(attempts[^1], UnreachableSiloRetry.Window - TimeSpan.FromSeconds(2), UnreachableSiloRetry.Window);
        // Backing off: the attempts grow further apart, to at most a second.
        var gaps = attempts.Zip(attempts.Skip(1), (a, b) => b - a).ToList();
        Assert.Equal(gaps.Order(), gaps);
        Assert.True(gaps[^1] <= TimeSpan.FromSeconds(1), $"last gap {gaps[^1]}");
    }

    [Fact]
    public async Task RunAsync_AFailureOfTheGrainItself_IsThrownAtOnce()
    {
        var attempts = 0;

        await Assert.ThrowsAsync<InvalidOperationException>(() => Retry().RunAsync<int>(() =>
        {
            attempts++;
            throw new InvalidOperationException("the state cannot be read");
        }, "Reading thermostat t-1"));

        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task RunAsync_TheRequestGoesAway_StopsRepeating()
    {
        using var abort = new CancellationTokenSource();
        var attempts = 0;
        var run = Retry().RunAsync<int>(() =>
        {
            attempts++;
            return Task.FromException<int>(new SiloUnavailableException("unreachable"));
        }, "Reading thermostat t-1", abort.Token);

        await abort.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(1, attempts);
    }

    [Theory]
    [InlineData("Exception while sending message: ConnectionFailedException: Unable to connect\n   at Orleans.Runtime.Messaging.X()", "Exception while sending message: ConnectionFailedException: Unable to connect")]
    [InlineData("The target silo became unavailable", "The target silo became unavailable")]
    public void Reason_IsTheRefusalsFirstLine(string message, string reason) =>
        Assert.Equal(reason, UnreachableSiloRetry.Reason(new SiloUnavailableException(message)));

    private UnreachableSiloRetry Retry() => new(_time, NullLogger<UnreachableSiloRetry>.Instance);

    /// <summary>
    /// Moves the clock on by each wait the retry starts, as soon as it starts it, until <paramref name="run"/> completes:
    /// the retry sees time pass exactly as its waits say, whichever thread its continuations run on.
    /// </summary>
    private async Task<T> DriveAsync<T>(Task<T> run)
    {
        while (!run.IsCompleted)
        {
            var wait = _time.Waits.ReadAsync().AsTask();
            if (await Task.WhenAny(run, wait).WaitAsync(TimeSpan.FromSeconds(30)) == wait)
            {
                _time.Advance(await wait);
            }
        }

        return await run;
    }

    /// <summary>A fake clock that tells when something starts waiting on it, and for how long.</summary>
    private sealed class SteppedTimeProvider : FakeTimeProvider
    {
        private readonly Channel<TimeSpan> _waits = Channel.CreateUnbounded<TimeSpan>();

        public ChannelReader<TimeSpan> Waits => _waits.Reader;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            _waits.Writer.TryWrite(dueTime);
            return timer;
        }
    }
}
