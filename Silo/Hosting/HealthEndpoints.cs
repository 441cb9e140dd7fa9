using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Hearth.Silo.Hosting;

/// <summary>
/// <c>/health/live</c>: 200 while the process runs. <c>/health/ready</c>: 200 once the silo is active, the Kafka
/// stream provider runs and storage answers (<see cref="SiloHealthCheck"/>).
/// </summary>
public static class HealthEndpoints
{
    private const string LiveTag = "live";

    /// <summary>The checks the endpoints report.</summary>
    public static IServiceCollection AddSiloHealthChecks(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton<StorageProbe>();
        services.AddHealthChecks()
            .AddCheck("process", () => HealthCheckResult.Healthy(), tags: [LiveTag])
            .AddCheck<SiloHealthCheck>("silo");
        return services;
    }

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // Open to anyone: load balancers and Kubernetes probes carry no credentials, and the answers say nothing of the fleet.
        app.MapHealthChecks("/health/live", new() { Predicate = check => check.Tags.Contains(LiveTag) }).AllowAnonymous();
        app.MapHealthChecks("/health/ready").AllowAnonymous();
        return app;
    }
}
