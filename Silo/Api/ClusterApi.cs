using Hearth.Silo.Cluster;

namespace Hearth.Silo.Api;

/// <summary><c>/api/cluster</c>: the silos, who owns which partition, what they do, and what happened lately.</summary>
public static class ClusterApi
{
    public static IEndpointRouteBuilder MapClusterApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/cluster", GetAsync);
        app.MapGet("/api/cluster/history", (ClusterView view) => Results.Ok(view.History()));
        return app;
    }

    /// <summary>
    /// The cluster now. While the silo holding the cluster directory has crashed and is not yet declared dead, its
    /// reads are repeated (<see cref="UnreachableSiloRetry"/>), then answered 503 with <c>Retry-After</c>.
    /// </summary>
    private static async Task<IResult> GetAsync(HttpContext context, ClusterView view)
    {
        try
        {
            return Results.Ok(await view.GetAsync(context.RequestAborted));
        }
        catch (Exception e) when (UnreachableSiloRetry.IsUnreachable(e))
        {
            return ApiResults.Unavailable(context, "Cluster directory unreachable",
                $"The silo holding the cluster directory has stopped answering and the cluster has not yet moved it ({UnreachableSiloRetry.Reason(e)}). Retry shortly.");
        }
    }
}
