using Confluent.Kafka;
using Hearth.Runtime.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Hearth.Runtime.Kafka;

/// <summary>
/// The silo's one idempotent producer, for grain outputs, forwarded messages and dead letters.
/// </summary>
/// <remarks>
/// Delivery is confirmed in bulk, not per message: before a checkpoint acknowledges inputs,
/// <see cref="Flush"/> waits for everything produced so far, and <see cref="DeliveryFailures"/> tells
/// whether any of it failed (the idempotent producer has by then retried until <c>message.timeout.ms</c>).
/// The delivery report carries only the status, which keeps its cost low.
/// </remarks>
internal sealed class OutboundProducer : IDisposable
{
    private static readonly TimeSpan FlushSlice = TimeSpan.FromMilliseconds(100);

    private readonly IProducer<byte[]?, byte[]?> _producer;
    private readonly Action<DeliveryReport<byte[]?, byte[]?>> _onDelivered;
    private readonly ILogger _logger;
    private long _failures;

    public OutboundProducer(KafkaClientFactory clients, ILogger<OutboundProducer> logger)
    {
        _producer = clients.Producer().Build();
        _logger = logger;
        _onDelivered = OnDelivered;
    }

    /// <summary>Messages whose delivery failed since the producer was created.</summary>
    public long DeliveryFailures => Volatile.Read(ref _failures);

    /// <summary>Produces to the partition Kafka's default partitioner picks for the key (random when there is no key).</summary>
    public void Send(string topic, Message<byte[]?, byte[]?> message) =>
        Produce(new TopicPartition(topic, Partition.Any), message);

    /// <summary>Produces to an explicit partition.</summary>
    public void Send(TopicPartition partition, Message<byte[]?, byte[]?> message) =>
        Produce(partition, message);

    /// <summary>
    /// Produces one message and waits for its delivery (for requests that report where it landed). A
    /// failure is the caller's to report; it does not count as a lost output.
    /// </summary>
    public async Task<TopicPartitionOffset> SendAndWaitAsync(string topic, Message<byte[]?, byte[]?> message, CancellationToken cancellationToken)
    {
        var result = await _producer.ProduceAsync(topic, message, cancellationToken).ConfigureAwait(false);
        return result.TopicPartitionOffset;
    }

    /// <summary>Waits until everything produced so far is delivered or has failed.</summary>
    /// <returns>False if <paramref name="timeout"/> passed first.</returns>
    public bool Flush(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (_producer.Flush(FlushSlice) > 0)
        {
            if (DateTime.UtcNow > deadline || cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }

        return true;
    }

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(10));
        _producer.Dispose();
    }

    private void Produce(TopicPartition partition, Message<byte[]?, byte[]?> message)
    {
        while (true)
        {
            try
            {
                // Partition.Any lets the configured partitioner (murmur2_random) choose.
                _producer.Produce(partition, message, _onDelivered);
                return;
            }
            catch (ProduceException<byte[]?, byte[]?> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                // The local queue is full: the broker is slower than we are. Waiting here is the backpressure.
                Thread.Sleep(1);
            }
        }
    }

    private void OnDelivered(DeliveryReport<byte[]?, byte[]?> report)
    {
        if (report.Error.IsError)
        {
            if (Interlocked.Increment(ref _failures) == 1)
            {
                Log.DeliveryFailed(_logger, report.Topic, report.Error.Code, report.Error.Reason);
            }
        }
    }
}
