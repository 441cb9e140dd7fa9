namespace Hearth.Silo.Diagnostics;

/// <summary><c>GET /metrics</c>: this silo's instruments in the Prometheus text format (<see cref="PrometheusMetrics"/>).</summary>
public static class MetricsEndpoints
{
    private const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // Created now, not at the first scrape, so that it sees every measurement from the first message on.
        app.ServiceProvider.GetRequiredService<PrometheusMetrics>();
        app.MapGet("/metrics", (PrometheusMetrics metrics) => Results.Text(metrics.Scrape(), ContentType));
        return app;
    }
}
