using System.Text.Json;
using System.Text.Json.Serialization;
using Hearth.Grains;
using Hearth.Grains.Hosting;
using Hearth.Runtime.Hosting;
using Hearth.Runtime.Membership;
using Hearth.Runtime.Storage.AdoNet;
using Hearth.Silo.Api;
using Hearth.Silo.Cluster;
using Hearth.Silo.Dashboard;
using Hearth.Silo.Diagnostics;
using Hearth.Silo.EmbeddedKafka;
using Hearth.Streaming.Kafka.Native;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Hearth.Silo.Hosting;

/// <summary>Builds the silo: the same composition for the executable, the tests and the benchmark.</summary>
public static class SiloApplication
{
    /// <summary>
    /// Creates the silo's application. Configuration comes from <c>appsettings.json</c>, environment
    /// variables (<c>Kafka__BootstrapServers</c>) and <c>--Key=value</c> arguments, in that order;
    /// <paramref name="configure"/> may add more (tests).
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        Librdkafka.Load();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        configure?.Invoke(builder);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(60));

        builder.AddEmbeddedKafkaIfUnconfigured();
        builder.Services.AddGrainRuntime().AddThermostatGrains();
        builder.Services.AddSingleton<ThermostatMetrics>();
        builder.AddSiloEndpointsServices();

        var app = builder.Build();
        app.Lifetime.ApplicationStarted.Register(() => AdvertiseHttpAddress(app));
        // Created now, so that it sees every measurement from the first message on.
        app.Services.GetRequiredService<PrometheusMetrics>();
        app.Use((context, next) =>
        {
            context.Response.Headers[ThermostatsApi.ServedByHeader] = app.Services.GetRequiredService<SiloIdentity>().Name;
            return next(context);
        });
        app.MapHealthChecks("/health/live", new() { Predicate = check => check.Tags.Contains("live") });
        app.MapHealthChecks("/health/ready");
        app.MapThermostatsApi();
        app.MapClusterApi();
        app.MapDashboard();
        app.MapGet("/metrics", (PrometheusMetrics metrics) => Results.Text(metrics.Scrape(), "text/plain; version=0.0.4; charset=utf-8"));
        return app;
    }

    private static void AddSiloEndpointsServices(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        });
        services.AddProblemDetails();
        services.AddHttpClient(nameof(ThermostatsApi), client => client.Timeout = TimeSpan.FromSeconds(3));
        services.AddSingleton<ClusterView>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterView>());
        services.AddSingleton<PrometheusMetrics>();
        services.AddValidatedOptions<TelemetryOptions, TelemetryOptionsValidator>(TelemetryOptions.SectionName);
        services.AddHostedService<OtlpMetricsExporter>();
        services.AddSingleton<StorageProbe>();
        services.AddHealthChecks()
            .AddCheck("process", () => HealthCheckResult.Healthy(), tags: ["live"])
            .AddCheck<RuntimeHealthCheck>("grain-runtime");
    }

    /// <summary>
    /// Puts the address the server listens on into the membership table, unless <c>Silo:HttpAddress</c>
    /// says otherwise. A wildcard host (0.0.0.0) is replaced with the machine's name.
    /// </summary>
    private static void AdvertiseHttpAddress(WebApplication app)
    {
        var identity = app.Services.GetRequiredService<SiloIdentity>();
        if (identity.HttpAddress is not null)
        {
            return;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (address is not null && Uri.TryCreate(address.Replace("://+", "://localhost", StringComparison.Ordinal)
                .Replace("://*", "://localhost", StringComparison.Ordinal), UriKind.Absolute, out var uri))
        {
            var host = uri.Host is "0.0.0.0" or "[::]" or "::" ? Environment.MachineName : uri.Host;
            identity.HttpAddress = new UriBuilder(uri) { Host = host }.Uri.GetLeftPart(UriPartial.Authority);
        }
    }
}

/// <summary>Ready when the group has assigned this silo its partitions, storage answers, and no output was lost.</summary>
internal sealed class RuntimeHealthCheck(GrainRuntimeStatus status, StorageProbe storage) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (status.IsPoisoned)
        {
            return HealthCheckResult.Unhealthy("an output could not be delivered; the silo is stopping");
        }

        if (!status.FirstAssignment.IsCompleted)
        {
            return HealthCheckResult.Unhealthy("waiting for the consumer group's assignment");
        }

        if (await storage.ErrorAsync(cancellationToken) is { } error)
        {
            return HealthCheckResult.Unhealthy($"storage does not answer: {error}");
        }

        return HealthCheckResult.Healthy($"owns partitions {string.Join(",", status.OwnedPartitions)}");
    }
}

/// <summary>Whether the database answers, asked at most every few seconds so that frequent probes cost nothing.</summary>
internal sealed class StorageProbe(AdoNetDatabase database, TimeProvider time)
{
    private static readonly TimeSpan CacheTime = TimeSpan.FromSeconds(3);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private DateTimeOffset _checkedAt = DateTimeOffset.MinValue;
    private string? _error;

    /// <summary>Null when the database answered, else why it did not.</summary>
    public async Task<string?> ErrorAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (time.GetUtcNow() - _checkedAt < CacheTime)
            {
                return _error;
            }

            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(2));
                await database.PingAsync(timeout.Token);
                _error = null;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                _error = e.Message;
            }

            _checkedAt = time.GetUtcNow();
            return _error;
        }
        finally
        {
            _gate.Release();
        }
    }
}
