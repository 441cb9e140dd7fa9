namespace Hearth.Silo.Diagnostics;

/// <summary><c>GET /metrics</c>: this silo's instruments in the Prometheus text format (<see cref="PrometheusMetrics"/>).</summary>
public static class MetricsEndpoints
{
    private const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <param name="anonymous">Serve it to anyone (<c>Auth:AnonymousMetrics</c>, a scraper without credentials); otherwise it needs read.</param>
    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder app, bool anonymous = false)
    {
        ArgumentNullException.ThrowIfNull(app);
        // Created now, not at the first scrape, so that it sees every measurement from the first message on.
        app.ServiceProvider.GetRequiredService<PrometheusMetrics>();
        var endpoint = app.MapGet("/metrics", (PrometheusMetrics metrics) => Results.Text(metrics.Scrape(), ContentType));
        if (anonymous)
        {
            endpoint.AllowAnonymous();
        }

        return app;
    }
}
