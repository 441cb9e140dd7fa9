using Hearth.Grains;
using Hearth.Grains.Interfaces;
using Hearth.Silo.Configuration;
using Hearth.Silo.Storage;
using Hearth.Streaming.Kafka.Hosting;
using Hearth.Streaming.Kafka.Providers;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Runtime.Hosting;

namespace Hearth.Silo.Hosting;

/// <summary>What every silo of Hearth runs, whatever hosts it (the silo executable, a test cluster).</summary>
public static class ThermostatSiloBuilderExtensions
{
    /// <summary>The namespace of Npgsql's exceptions, which Orleans is told to serialize.</summary>
    public const string PostgresExceptionNamespace = "Npgsql";

    /// <summary>
    /// Adds thermostat control to a silo: the controller grains with their state in the configured database
    /// (schema applied at start), fed by the Kafka stream provider over the configured topics.
    /// Clustering and endpoints are the host's.
    /// </summary>
    /// <param name="configureKafka">Further configuration of the Kafka stream provider (a queue balancer, say).</param>
    public static ISiloBuilder AddThermostatControl(this ISiloBuilder silo, SiloSettings settings, Action<ISiloKafkaStreamConfigurator>? configureKafka = null)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(settings);
        var storage = settings.Storage;
        if (storage.IsPostgres)
        {
            silo.Services.AddGrainStorage(ThermostatStorage.ProviderName, (sp, name) => new PostgresGrainStorage(
                name,
                Npgsql.NpgsqlDataSource.Create(storage.EffectiveConnectionString),
                sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId,
                new JsonGrainStorageSerializer(),
                sp.GetRequiredService<ILogger<GroupCommitGrainStorage>>()));
            // A failed read or write throws Npgsql's exceptions out of the grain; without this, Orleans cannot send
            // them to a caller on another silo (the pulling agent that delivered), which then sees a
            // CodecNotFoundException instead of the database's error.
            silo.Services.Configure<ExceptionSerializationOptions>(o => o.SupportedNamespacePrefixes.Add(PostgresExceptionNamespace));
        }
        else
        {
            silo.Services.AddGrainStorage(ThermostatStorage.ProviderName, (sp, name) => new SqliteGrainStorage(
                name,
                storage.EffectiveConnectionString,
                sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId,
                new JsonGrainStorageSerializer(),
                sp.GetRequiredService<ILogger<GroupCommitGrainStorage>>()));
        }

        if (storage.ApplySchema)
        {
            silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp =>
                new SchemaInstaller(storage, sp.GetRequiredService<ILogger<SchemaInstaller>>()));
        }

        silo.AddKafkaStreams(ThermostatStreams.Provider, kafka =>
        {
            // Its options are section Kafka, bound as SiloSettings.Kafka was (SiloSettings.BindKafka).
            kafka.ConfigureKafka(options => options.Configure(settings.BindKafka));
            kafka.UseDataAdapter((_, _) => new ThermostatDataAdapter());
            // The dispatcher retries and dead-letters by thermostat itself (Grains:MaxAttempts): the pulling
            // agent never skips a partition's batch, it delivers it again until the dispatcher completes it.
            kafka.ConfigurePullingAgent(options => options.Configure(o => o.MaxEventDeliveryTime = Timeout.InfiniteTimeSpan));
            configureKafka?.Invoke(kafka);
        });

        var idle = settings.Grains.IdleTimeout;
        silo.Configure<GrainCollectionOptions>(o =>
        {
            o.CollectionAge = idle;
            o.CollectionQuantum = TimeSpan.FromTicks(Math.Min(GrainCollectionOptions.DEFAULT_COLLECTION_QUANTUM.Ticks, idle.Ticks / 2));
        });
        // The section as read and checked (SiloSettings.Register has registered it when the silo executable hosts this).
        silo.Services.TryAddSingleton(Options.Create(settings.Grains));
        silo.Services.TryAddSingleton(TimeProvider.System);
        silo.Services.AddSingleton<ThermostatMetrics>();
        silo.Services.AddSingleton<IInputDeadLetters>(sp => new KafkaInputDeadLetters(
            sp.GetRequiredKeyedService<IKafkaDeadLetters>(ThermostatStreams.Provider)));
        silo.Services.AddSingleton(sp => new ThermostatDispatcher(
            (id, inputs) => sp.GetRequiredService<IGrainFactory>().GetGrain<IThermostatControllerGrain>(ThermostatKeys.GrainKey(id)).ApplyAsync(inputs),
            sp.GetRequiredService<IInputDeadLetters>(),
            sp.GetRequiredService<IOptions<ThermostatGrainOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ThermostatDispatcher>>(),
            sp.GetRequiredService<IOptions<SiloMessagingOptions>>().Value.ResponseTimeout * 0.8));
        if (settings.Grains.Placement == ThermostatGrainOptions.PreferLocalPlacement)
        {
            // Orleans adds its default placement only if none is registered.
            silo.Services.AddSingleton<PlacementStrategy, PreferLocalPlacement>();
        }

        if (settings.Grains.Rebalance && storage.IsPostgres)
        {
            // A cluster only: one silo has nowhere to move grains to (and its rebalancer would fail to find a
            // destination for itself on the way down).
#pragma warning disable ORLEANSEXP002 // The activation rebalancer is experimental in Orleans 10.
            silo.AddActivationRebalancer();
#pragma warning restore ORLEANSEXP002
        }

        return silo;
    }
}
