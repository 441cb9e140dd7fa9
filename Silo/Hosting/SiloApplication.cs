using System.Text.Json;
using System.Text.Json.Serialization;
using Hearth.Kafka.Native;
using Hearth.Silo.Api;
using Hearth.Silo.Cluster;
using Hearth.Silo.Configuration;
using Hearth.Silo.Dashboard;
using Hearth.Silo.Diagnostics;
using Hearth.Silo.EmbeddedKafka;
using Hearth.Silo.Security;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Dashboard;

namespace Hearth.Silo.Hosting;

/// <summary>
/// Builds the silo: one process hosting ASP.NET Core and an Orleans silo. The same composition serves the
/// executable, the tests and the benchmark.
/// </summary>
public static partial class SiloApplication
{
    /// <summary>
    /// Creates the silo's application. Configuration comes from <c>appsettings.json</c>, environment
    /// variables (<c>Kafka__BootstrapServers</c>) and <c>--Key=value</c> arguments, in that order;
    /// <paramref name="configure"/> may add more (tests). Nothing listens or joins a cluster until the
    /// application starts.
    /// </summary>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The configuration is invalid (the keys are named).</exception>
    /// <exception cref="PortInUseException">A port the silo needs is taken.</exception>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // Before any Kafka client exists: it runs on the librdkafka of its NuGet package, never a system one.
        Librdkafka.Load();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        configure?.Invoke(builder);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(60));

        var embedded = builder.AddEmbeddedKafkaIfUnconfigured();
        var settings = SiloSettings.Read(builder.Configuration, embedded?.Incarnation ?? "");

        settings.Register(builder.Services);
        var endpoints = SiloEndpoints.Resolve(builder.Configuration, settings);
        builder.Services.AddSingleton(endpoints);
        builder.WebHost.UseUrls([.. endpoints.Urls]);
        // Before anything starts: a silo that cannot authenticate anyone on a non-loopback address stops here.
        builder.AddSecurity(settings.Auth, settings.JwtAuthorityCas, endpoints);
        // Before Orleans: it runs first and stops the silo before it joins anything.
        builder.Services.AddHostedService<KafkaTopicCheck>();
        builder.UseOrleans(silo => ConfigureSilo(silo, settings, endpoints));
        AddEndpointServices(builder.Services);

        var app = builder.Build();
        // A failure no endpoint answers itself is a 500 with a problem body (and logged once, with its stack trace).
        app.UseExceptionHandler();
        app.UseServedByHeader();
        // Every endpoint below needs read unless it says otherwise (the fallback policy): health is open, metrics
        // open on request, settings need control.
        app.UseSecurity();
        app.MapMetrics(settings.Auth.AnonymousMetrics);
        app.MapHealth();
        app.MapThermostatsApi();
        app.MapClusterApi();
        app.MapDashboard();
        if (!settings.Auth.IsOff)
        {
            app.MapLogin();
        }

        if (settings.Orleans.Dashboard)
        {
            // Its pages and its API (counters, grain state, trace) alike fall under the fallback policy.
            app.MapOrleansDashboard(routePrefix: "/orleans");
        }
        return app;
    }

    /// <summary>
    /// Starts the silo. If Orleans started and what starts after it failed (the HTTP server, say, on a port taken
    /// since the check), the silo is stopped gracefully before the failure is thrown, as on SIGTERM: it leaves the
    /// cluster and hands its partitions over instead of running on with no host around it.
    /// </summary>
    /// <remarks>
    /// A silo whose own start failed part-way cannot be stopped: Orleans refuses to stop a silo that is not
    /// running, and stopping its lifecycle directly leaves its disposal waiting for that stop forever. Its
    /// process has to exit (the executable does, with the one-line error); the other silos then declare it dead
    /// (one that failed while joining, once Orleans' <c>MaxJoinAttemptTime</c> has passed, five minutes by default).
    /// </remarks>
    public static async Task StartAsync(WebApplication app, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(app);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception failure) when (app.Services.GetRequiredService<SiloStartProgress>().Started)
        {
            await StopStartedSiloAsync(app, failure).ConfigureAwait(false);
            throw;
        }
    }

    private static async Task StopStartedSiloAsync(WebApplication app, Exception failure)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SiloApplication).FullName!);
        LogStoppingAfterFailedStart(logger, failure.Message);
        using var timeout = new CancellationTokenSource(app.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
        try
        {
            await app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            LogStopAfterFailedStartFailed(logger, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The silo started but the host did not ({Reason}); stopping the silo gracefully")]
    private static partial void LogStoppingAfterFailedStart(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopping the silo after the host's failed start did not complete; the cluster declares it dead once its process exits")]
    private static partial void LogStopAfterFailedStartFailed(ILogger logger, Exception exception);

    private static void ConfigureSilo(ISiloBuilder silo, SiloSettings settings, SiloEndpoints endpoints)
    {
        var orleans = settings.Orleans;
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = orleans.ClusterId;
            o.ServiceId = orleans.ServiceId;
        });
        silo.Configure<Orleans.Configuration.SiloOptions>(o => o.SiloName = settings.Silo.Name);
        if (settings.Storage.IsPostgres)
        {
            silo.UseAdoNetClustering(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = settings.Storage.EffectiveConnectionString;
            });
            silo.ConfigureEndpoints(endpoints.AdvertisedAddress, endpoints.SiloPort, endpoints.GatewayPort);
        }
        else
        {
            // One silo: SQLite holds no membership.
            silo.UseLocalhostClustering(endpoints.SiloPort, endpoints.GatewayPort, serviceId: orleans.ServiceId, clusterId: orleans.ClusterId);
        }

        // Failure detection: defaults tuned to notice a dead silo within seconds (see README); every value can be set
        // under Orleans:Membership (Orleans' ClusterMembershipOptions).
        silo.Services.AddOptions<ClusterMembershipOptions>()
            .Configure(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(2);
                o.NumMissedProbesLimit = 2;
                o.NumVotesForDeathDeclaration = 2;
                o.TableRefreshTimeout = TimeSpan.FromSeconds(5);
                o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(5);
            })
            .BindConfiguration($"{OrleansOptions.SectionName}:Membership");
        if (settings.ClusterTls is { } tls)
        {
            // Mutual TLS on silo-to-silo and gateway connections, both directions: see ClusterTls.
            silo.UseTls(tls.Configure);
            silo.Services.AddSingleton(tls);
            silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, ClusterTlsLogging>();
        }

        silo.AddThermostatControl(settings);
        if (settings.Orleans.Dashboard)
        {
            // Its trace page streams the silo's log to whoever reads it: off unless Orleans:DashboardTrace.
            silo.AddDashboard(o => o.HideTrace = !settings.Orleans.DashboardTrace);
        }
        silo.Services.AddSingleton<SiloStartProgress>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<SiloStartProgress>());
    }

    private static void AddEndpointServices(IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        });
        services.AddProblemDetails();
        services.AddSingleton<UnreachableSiloRetry>();
        services.AddSingleton<PrometheusMetrics>();
        services.AddHostedService<OtlpMetricsExporter>();
        // Registered after Orleans: they start once the silo is active.
        services.AddHostedService<ActiveSiloAnnouncer>();
        services.AddHostedService<ClusterWatcher>();
        services.AddSingleton<ClusterView>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterView>());
        services.AddHostedService<IdleMemoryTrimmer>();
        services.AddSiloHealthChecks();
    }
}
