using System.Text.Json.Serialization.Metadata;
using Hearth.Runtime.Activation;
using Hearth.Runtime.Checkpointing;
using Hearth.Runtime.Configuration;
using Hearth.Runtime.Diagnostics;
using Hearth.Runtime.Kafka;
using Hearth.Runtime.Membership;
using Hearth.Runtime.Processing;
using Hearth.Runtime.Storage;
using Hearth.Runtime.Storage.AdoNet;
using Hearth.Runtime.Storage.Postgres;
using Hearth.Runtime.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hearth.Runtime.Hosting;

public static class GrainRuntimeHostingExtensions
{
    /// <summary>
    /// Adds the grain runtime: options (sections <c>Kafka</c>, <c>Topics</c>, <c>Grains</c>, <c>Storage</c>,
    /// <c>Silo</c>, validated at start), storage, Kafka clients and the hosted service that runs them.
    /// Register grains and streams on the returned builder.
    /// </summary>
    public static IGrainRuntimeBuilder AddGrainRuntime(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddValidatedOptions<KafkaOptions, KafkaOptionsValidator>(KafkaOptions.SectionName);
        services.AddValidatedOptions<TopicsOptions, TopicsOptionsValidator>(TopicsOptions.SectionName);
        services.AddValidatedOptions<GrainsOptions, GrainsOptionsValidator>(GrainsOptions.SectionName);
        services.AddValidatedOptions<StorageOptions, StorageOptionsValidator>(StorageOptions.SectionName);
        services.AddValidatedOptions<SiloOptions, SiloOptionsValidator>(SiloOptions.SectionName);
        services.AddValidatedOptions<MembershipOptions, MembershipOptionsValidator>(MembershipOptions.SectionName);

        var registry = new GrainRegistry();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(registry);
        services.AddSingleton(sp => new RuntimeMetrics(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddSingleton(CreateDatabase);
        services.AddSingleton<ICheckpointStore, AdoNetCheckpointStore>();
        services.AddSingleton<IMembershipTable, AdoNetMembershipTable>();
        services.AddSingleton<SiloIdentity>();
        services.AddSingleton<KafkaClientFactory>();
        services.AddSingleton<OutboundProducer>();
        services.AddSingleton<TopicLayout>();
        services.AddSingleton<WorkerServices>();
        services.AddSingleton<CheckpointCoordinator>();
        services.AddSingleton<PartitionManager>();
        services.AddSingleton(sp => new GrainRuntimeStatus(
            sp.GetRequiredService<PartitionManager>(), sp.GetRequiredService<CheckpointCoordinator>(), sp.GetRequiredService<RuntimeMetrics>(),
            sp.GetRequiredService<TopicLayout>()));
        // Start in this order, stop in the reverse: schema, membership (joining... dead), runtime.
        services.AddSingleton(sp => new GrainCalls(
            sp.GetRequiredService<PartitionManager>(), sp.GetRequiredService<TopicLayout>(),
            sp.GetRequiredService<ICheckpointStore>(), sp.GetRequiredService<GrainRegistry>()));
        services.AddSingleton<ISiloStatsProvider, SiloStatsCollector>();
        services.AddSingleton(sp => new InputPublisher(sp.GetRequiredService<OutboundProducer>()));
        services.AddHostedService<StorageInitializer>();
        services.AddHostedService<MembershipService>();
        services.AddHostedService<GrainRuntimeService>();
        return new GrainRuntimeBuilder(registry);
    }

    /// <summary>Binds <typeparamref name="TOptions"/> to <paramref name="section"/>, validated by <typeparamref name="TValidator"/> at start.</summary>
    public static void AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.AddOptions<TOptions>().BindConfiguration(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TOptions>, TValidator>();
    }

    private static AdoNetDatabase CreateDatabase(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        SqlDialect dialect = options.Provider.ToLowerInvariant() switch
        {
            StorageOptions.Sqlite => new SqliteDialect(options.ConnectionString),
            StorageOptions.Postgres => new PostgresDialect(options.ConnectionString),
            _ => throw new InvalidOperationException($"Storage:Provider '{options.Provider}' is not supported."),
        };
        return new AdoNetDatabase(dialect, services.GetRequiredService<TimeProvider>(), services.GetRequiredService<ILogger<AdoNetDatabase>>());
    }

    private sealed class GrainRuntimeBuilder(GrainRegistry registry) : IGrainRuntimeBuilder
    {
        public IGrainRuntimeBuilder AddStreamGrain<TGrain, TState, TMessage>(
            string grainType, JsonTypeInfo<TState> stateJson, IMessageDecoder<TMessage> decoder)
            where TGrain : Grain<TState>, IStreamSubscriber<TMessage>
            where TState : class, new()
            where TMessage : class
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(grainType);
            ArgumentNullException.ThrowIfNull(stateJson);
            ArgumentNullException.ThrowIfNull(decoder);
            registry.SetStreamGrain(new StreamGrainRegistration<TGrain, TState, TMessage>(grainType, stateJson, decoder));
            return this;
        }

        public IGrainRuntimeBuilder AddOutputStream<T>(string name, IMessageEncoder<T> encoder)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(name);
            ArgumentNullException.ThrowIfNull(encoder);
            registry.AddOutput(new OutputStreamRegistration<T>(name, encoder));
            return this;
        }
    }
}
