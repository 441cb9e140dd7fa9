using System.Diagnostics;
using Confluent.Kafka;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;

namespace Hearth.Tests.Infrastructure;

/// <summary>
/// Readings produced continuously at a fixed rate, round-robin over a fleet, each swinging its thermostat
/// through its band; the reference replay of exactly what was produced, in order.
/// </summary>
public sealed class ContinuousLoad : IAsyncDisposable
{
    private const int Period = 20;

    private readonly IProducer<string?, byte[]?> _producer;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<(long Count, TaskCompletionSource Reached)> _waiters = [];
    private readonly Task _run;
    private long _sent;

    private ContinuousLoad(EmbeddedKafkaFixture kafka, string topic, IReadOnlyList<string> ids, IReadOnlyDictionary<string, double> setpoints,
        ControllerReplay replay, int ratePerSecond)
    {
        _producer = kafka.CreateProducer();
        Replay = replay;
        _run = Task.Factory.StartNew(() => Run(topic, ids, setpoints, ratePerSecond), TaskCreationOptions.LongRunning);
    }

    public ControllerReplay Replay { get; }

    public long Sent => Interlocked.Read(ref _sent);

    public static ContinuousLoad Start(EmbeddedKafkaFixture kafka, TestTopics topics, IReadOnlyList<string> ids,
        IReadOnlyDictionary<string, double> setpoints, ControllerReplay replay, int ratePerSecond) =>
        new(kafka, topics.Readings, ids, setpoints, replay, ratePerSecond);

    /// <summary>Completes when <paramref name="more"/> further readings have been produced.</summary>
    public Task WaitForMoreAsync(long more)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            _waiters.Add((Sent + more, reached));
        }

        return reached.Task.WaitAsync(TimeSpan.FromMinutes(2));
    }

    /// <summary>Stops producing and waits until everything produced is in the broker.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _run;
        if (_producer.Flush(TimeSpan.FromSeconds(30)) > 0)
        {
            throw new TimeoutException("The load's readings were not all delivered.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _producer.Dispose();
    }

    private void Run(string topic, IReadOnlyList<string> ids, IReadOnlyDictionary<string, double> setpoints, int ratePerSecond)
    {
        var clock = Stopwatch.StartNew();
        long sent = 0;
        while (!_stop.IsCancellationRequested)
        {
            var due = (long)(clock.Elapsed.TotalSeconds * ratePerSecond);
            for (; sent < due; sent++)
            {
                var id = ids[(int)(sent % ids.Count)];
                var round = sent / ids.Count;
                var phase = 2 * Math.PI * ((round + (sent % ids.Count % Period)) % Period) / Period;
                var reading = new ThermostatReading(id, Math.Round(setpoints[id] + (2 * Math.Sin(phase)), 2), Fleet.Clock.AddSeconds(round));
                _producer.Produce(topic, new Message<string?, byte[]?> { Key = id, Value = ThermostatJson.Encode(reading) });
                Replay.Apply(reading);
            }

            Interlocked.Exchange(ref _sent, sent);
            lock (_lock)
            {
                foreach (var waiter in _waiters.Where(w => w.Count <= sent).ToList())
                {
                    waiter.Reached.TrySetResult();
                    _waiters.Remove(waiter);
                }
            }

            _stop.Token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(5));
        }
    }
}
