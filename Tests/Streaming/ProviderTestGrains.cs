using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Hearth.Streaming.Kafka.Providers;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace Hearth.Tests.Streaming;

/// <summary>What the provider tests publish: any key, any text (text starting with "poison" cannot be decoded).</summary>
[GenerateSerializer, Immutable, Alias("hearth.tests.TestEvent")]
public sealed record TestEvent([property: Id(0)] string Key, [property: Id(1)] string Body);

/// <summary>The provider tests' wire format: the key and the body (the value as UTF-8) make the event.</summary>
public sealed class TestEventAdapter : IKafkaDataAdapter
{
    public const string Namespace = "provider-test";

    public KafkaDecodeResult Decode(in KafkaMessage message)
    {
        if (!message.HasKey || message.Key.IsEmpty)
        {
            return KafkaDecodeResult.Reject("message has no key");
        }

        var body = Encoding.UTF8.GetString(message.Value);
        if (body.StartsWith("poison", StringComparison.Ordinal))
        {
            return KafkaDecodeResult.Reject($"undecodable: {body}");
        }

        return KafkaDecodeResult.Event(new TestEvent(Encoding.UTF8.GetString(message.Key), body));
    }

    public byte[] Encode<T>(StreamId streamId, T item) =>
        item is TestEvent e
            ? JsonSerializer.SerializeToUtf8Bytes(new { key = e.Key, body = e.Body })
            : throw new ArgumentException($"Cannot encode a {typeof(T).Name}.", nameof(item));
}

/// <summary>Publishes to the provider's streams.</summary>
public interface IPublisherGrain : IGrainWithStringKey
{
    /// <summary>Publishes <paramref name="body"/> to the stream (<paramref name="streamNamespace"/>, this grain's key) of the provider.</summary>
    Task PublishAsync(string streamNamespace, string body);
}

public sealed class PublisherGrain : Grain, IPublisherGrain
{
    public Task PublishAsync(string streamNamespace, string body) =>
        this.GetStreamProvider(ProviderCluster.ProviderName)
            .GetStream<TestEvent>(StreamId.Create(streamNamespace, this.GetPrimaryKeyString()))
            .OnNextAsync(new TestEvent(this.GetPrimaryKeyString(), body));
}

/// <summary>The consumer of a partition's stream (its key is the partition number).</summary>
public interface IRecorderGrain : IGrainWithStringKey;

/// <summary>
/// Records every event delivered to it in <see cref="ProviderLedger"/>, in order, each after applying the running test's
/// behaviour for its key (which may hold the delivery, or fail it).
/// </summary>
[ImplicitStreamSubscription(TestEventAdapter.Namespace)]
public sealed class RecorderGrain : Grain, IRecorderGrain, IStreamSubscriptionObserver
{
    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory)
    {
        ArgumentNullException.ThrowIfNull(handleFactory);
        await handleFactory.Create<TestEvent>().ResumeAsync(OnBatchAsync);
    }

    private async Task OnBatchAsync(IList<SequentialItem<TestEvent>> items)
    {
        var silo = this.RuntimeIdentity;
        foreach (var item in items)
        {
            await ProviderLedger.BeforeDeliveryAsync(item.Item.Key, items.Count);
        }

        foreach (var item in items)
        {
            ProviderLedger.Record(new Delivery(item.Item.Key, item.Item.Body, (KafkaSequenceToken)item.Token, silo, items.Count));
        }
    }
}

/// <summary>One event as a consumer got it.</summary>
/// <param name="BatchSize">How many events the delivery that carried it held (a partition's events of one or more reads).</param>
public sealed record Delivery(string Key, string Body, KafkaSequenceToken Token, string Silo, int BatchSize);

/// <summary>
/// What the provider tests' grains received, and what they must do when they receive something: all in
/// this process (in-process test clusters), keyed by stream key, which every test makes unique.
/// </summary>
public static class ProviderLedger
{
    private static readonly ConcurrentQueue<Delivery> Deliveries = new();
    private static readonly ConcurrentDictionary<string, Func<int, Task>> Behaviours = new();
    private static event Action? Changed;

    /// <summary>Every delivery of the keys starting with <paramref name="prefix"/>, in the order they were recorded.</summary>
    public static IReadOnlyList<Delivery> Of(string prefix) => Deliveries.Where(d => d.Key.StartsWith(prefix, StringComparison.Ordinal)).ToList();

    /// <summary>Makes every delivery to <paramref name="key"/> run <paramref name="behaviour"/> first (throw to fail it).</summary>
    public static void OnDelivery(string key, Func<int, Task> behaviour) => Behaviours[key] = behaviour;

    public static void Record(Delivery delivery)
    {
        Deliveries.Enqueue(delivery);
        Changed?.Invoke();
    }

    public static Task BeforeDeliveryAsync(string key, int count) =>
        Behaviours.TryGetValue(key, out var behaviour) ? behaviour(count) : Task.CompletedTask;

    /// <summary>Waits until <paramref name="condition"/> holds, checking again after every delivery.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> describe)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check()
        {
            if (condition())
            {
                reached.TrySetResult();
            }
        }

        Changed += Check;
        try
        {
            Check();
            await reached.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Not reached within {timeout}: {describe()}");
        }
        finally
        {
            Changed -= Check;
        }
    }
}
