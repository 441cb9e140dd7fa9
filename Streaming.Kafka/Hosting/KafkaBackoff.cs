using Orleans.Runtime.Providers;

namespace Hearth.Streaming.Kafka.Hosting;

/// <summary>
/// How long the pulling agent waits before retrying a failed delivery (or a failed read): doubling from
/// <see cref="Min"/> up to <see cref="Max"/>, with jitter. Orleans' own default (1 s growing to 30 s) lets a few
/// failures in a row, such as deliveries to a controller whose silo just left, hold a partition's checkpoint for
/// tens of seconds; a Kafka queue's messages are all there to retry, so shorter is better.
/// </summary>
public sealed class KafkaBackoff(TimeSpan min, TimeSpan max) : IMessageDeliveryBackoffProvider, IQueueReaderBackoffProvider
{
    public static readonly TimeSpan DefaultMin = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan DefaultMax = TimeSpan.FromSeconds(5);

    public TimeSpan Min { get; } = min;

    public TimeSpan Max { get; } = max;

    public TimeSpan Next(int attempt)
    {
        var delay = Min.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt, 0, 30));
        var jitter = Random.Shared.NextDouble() * Min.TotalMilliseconds;
        return TimeSpan.FromMilliseconds(Math.Min(Max.TotalMilliseconds, delay + jitter));
    }
}
