using Hearth.Grains.Hosting;
using Hearth.Runtime.Hosting;
using Hearth.Runtime.Membership;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Hearth.Silo.EmbeddedKafka;
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
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        configure?.Invoke(builder);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(60));

        builder.AddEmbeddedKafkaIfUnconfigured();
        builder.Services.AddGrainRuntime().AddThermostatGrains();
        builder.Services.AddHealthChecks()
            .AddCheck("process", () => HealthCheckResult.Healthy(), tags: ["live"])
            .AddCheck<RuntimeHealthCheck>("grain-runtime");

        var app = builder.Build();
        app.Lifetime.ApplicationStarted.Register(() => AdvertiseHttpAddress(app));
        app.MapHealthChecks("/health/live", new() { Predicate = check => check.Tags.Contains("live") });
        app.MapHealthChecks("/health/ready");
        return app;
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

/// <summary>Ready when the group has assigned this silo its partitions and no output was lost.</summary>
internal sealed class RuntimeHealthCheck(GrainRuntimeStatus status) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(
            status.IsPoisoned ? HealthCheckResult.Unhealthy("an output could not be delivered; the silo is stopping")
            : !status.FirstAssignment.IsCompleted ? HealthCheckResult.Unhealthy("waiting for the consumer group's assignment")
            : HealthCheckResult.Healthy($"owns partitions {string.Join(",", status.OwnedPartitions)}"));
}
