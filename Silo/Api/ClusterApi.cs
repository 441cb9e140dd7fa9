using Hearth.Silo.Cluster;

namespace Hearth.Silo.Api;

/// <summary><c>/api/cluster</c>: the silos, who owns which partition, what they do, and what happened lately.</summary>
public static class ClusterApi
{
    public static IEndpointRouteBuilder MapClusterApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/cluster", async (ClusterView view, CancellationToken cancellationToken) => Results.Ok(await view.GetAsync(cancellationToken)));
        app.MapGet("/api/cluster/history", (ClusterView view) => Results.Ok(view.History()));
        return app;
    }
}
