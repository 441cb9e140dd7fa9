using Hearth.Streaming.Kafka.Committing;
using Hearth.Streaming.Kafka.Providers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Runtime.Providers;
using Orleans.Streams;

namespace Hearth.Streaming.Kafka.Hosting;

/// <summary>Registration of the Kafka stream provider, in the shape of Orleans' own providers.</summary>
public static class KafkaStreamsSiloBuilderExtensions
{
    /// <summary>
    /// Adds a Kafka stream provider named <paramref name="name"/>: one queue per partition of
    /// <see cref="KafkaStreamOptions.Topics"/>, shared out evenly over the active silos (<see cref="EvenQueueBalancer"/>;
    /// <c>ConfigurePartitionBalancing</c> chooses another), checkpoints as consumer-group
    /// offsets. Configure it with <see cref="KafkaStreamConfiguratorExtensions.ConfigureKafka"/> and
    /// <see cref="KafkaStreamConfiguratorExtensions.UseDataAdapter"/>; options are validated when the silo starts.
    /// </summary>
    public static ISiloBuilder AddKafkaStreams(this ISiloBuilder builder, string name, Action<ISiloKafkaStreamConfigurator> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        var configurator = new SiloKafkaStreamConfigurator(name, d => builder.ConfigureServices(d));
        configure(configurator);
        return builder;
    }
}

/// <summary>Configures a Kafka stream provider.</summary>
public interface ISiloKafkaStreamConfigurator : ISiloPersistentStreamConfigurator;

/// <summary>The Kafka stream provider's configurator: a persistent stream provider with Kafka's defaults.</summary>
public sealed class SiloKafkaStreamConfigurator : SiloPersistentStreamConfigurator, ISiloKafkaStreamConfigurator
{
    /// <summary>
    /// The pause of a queue's pulling agent after a read that brought nothing (Orleans'
    /// <c>StreamPullingAgentOptions.GetQueueMsgsTimerPeriod</c>). A read waits for messages itself (up to a second,
    /// <see cref="KafkaQueueReceiver.ReceiveWait"/>), so this is not a poll interval: it is how soon the agent
    /// looks again after a wait that ended empty, or while the queue's cache is full.
    /// </summary>
    public static readonly TimeSpan DefaultPollPeriod = TimeSpan.FromMilliseconds(10);

    /// <summary>The namespace of Confluent.Kafka's exceptions, which Orleans is told to serialize.</summary>
    public const string KafkaExceptionNamespace = "Confluent.Kafka";

    public SiloKafkaStreamConfigurator(string name, Action<Action<IServiceCollection>> configureServices)
        : base(name, configureServices, KafkaAdapterFactory.Create)
    {
        this.ConfigurePartitionBalancing(EvenQueueBalancer.Create);
        this.ConfigureBackoffProvider((_, _) => (IMessageDeliveryBackoffProvider)new KafkaBackoff(KafkaBackoff.DefaultMin, KafkaBackoff.DefaultMax));
        this.ConfigureBackoffProvider((_, _) => (IQueueReaderBackoffProvider)new KafkaBackoff(KafkaBackoff.DefaultMin, KafkaBackoff.DefaultMax));
        ConfigureDelegate(services =>
        {
            services.AddOptions<KafkaStreamOptions>(name);
            services.ConfigureNamedOptionForLogging<KafkaStreamOptions>(name);
            services.AddTransient<IConfigurationValidator>(sp =>
                new KafkaStreamOptionsValidator(sp.GetRequiredService<IOptionsMonitor<KafkaStreamOptions>>().Get(name), name));
            services.AddKeyedSingleton<IKafkaStreamStatus>(name, (sp, _) => (KafkaAdapterFactory)sp.GetRequiredKeyedService<IQueueAdapterFactory>(name));
            services.AddKeyedSingleton<IKafkaDeadLetters>(name, (sp, _) => (KafkaAdapterFactory)sp.GetRequiredKeyedService<IQueueAdapterFactory>(name));
            // Streams of this provider are consumed by implicit subscriptions; no pub/sub store is needed.
            services.AddOptions<StreamPubSubOptions>(name).Configure(o => o.PubSubType = StreamPubSubType.ImplicitOnly);
            services.AddOptions<StreamPullingAgentOptions>(name).Configure(o => o.GetQueueMsgsTimerPeriod = DefaultPollPeriod);
            services.TryAddSingleton(TimeProvider.System);
            services.TryAddSingleton<IKafkaCheckpointFence, MembershipCheckpointFence>();
            // A grain whose publishing fails throws Confluent.Kafka's exception (KafkaException): Orleans serializes
            // only exceptions of the namespaces it is told of, and a failure it cannot serialize reaches a caller on
            // another silo as a CodecNotFoundException instead of what went wrong.
            services.Configure<ExceptionSerializationOptions>(o => o.SupportedNamespacePrefixes.Add(KafkaExceptionNamespace));
        });
    }
}

/// <summary>The Kafka stream provider's configuration methods.</summary>
public static class KafkaStreamConfiguratorExtensions
{
    /// <summary>Configures the provider's <see cref="KafkaStreamOptions"/>.</summary>
    public static ISiloKafkaStreamConfigurator ConfigureKafka(this ISiloKafkaStreamConfigurator configurator, Action<OptionsBuilder<KafkaStreamOptions>> configure)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        configurator.Configure(configure);
        return configurator;
    }

    /// <summary>Sets what the bytes of the provider's topics mean.</summary>
    public static ISiloKafkaStreamConfigurator UseDataAdapter(this ISiloKafkaStreamConfigurator configurator, Func<IServiceProvider, string, IKafkaDataAdapter> factory)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        configurator.ConfigureComponent(factory);
        return configurator;
    }

    /// <summary>Sets <typeparamref name="TAdapter"/> (created from the silo's services) as the data adapter.</summary>
    public static ISiloKafkaStreamConfigurator UseDataAdapter<TAdapter>(this ISiloKafkaStreamConfigurator configurator)
        where TAdapter : IKafkaDataAdapter =>
        configurator.UseDataAdapter((sp, _) => ActivatorUtilities.CreateInstance<TAdapter>(sp));
}
