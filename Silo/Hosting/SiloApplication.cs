using Hearth.Grains.Hosting;
using Hearth.Runtime.Hosting;
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
        app.MapHealthChecks("/health/live", new() { Predicate = check => check.Tags.Contains("live") });
        app.MapHealthChecks("/health/ready");
        return app;
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
