using System.Reflection;

namespace Hearth.Silo.Dashboard;

/// <summary>
/// <c>/dashboard</c>: a page, a script and a style sheet compiled into the silo (no CDN, no external
/// fonts), reading <c>/api/cluster</c>. Every silo serves it, so it works through any load balancer.
/// </summary>
public static class DashboardEndpoints
{
    private static readonly Dictionary<string, (string Resource, string ContentType)> Files = new(StringComparer.Ordinal)
    {
        [""] = ("index.html", "text/html; charset=utf-8"),
        ["app.js"] = ("app.js", "text/javascript; charset=utf-8"),
        ["app.css"] = ("app.css", "text/css; charset=utf-8"),
    };

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        // The page links "dashboard/app.js" relative to /dashboard, so it also works under a path prefix.
        app.MapGet("/dashboard", (HttpContext context) =>
            // Relative links need the page at /dashboard, not /dashboard/.
            context.Request.Path.Value?.EndsWith('/') == true ? Results.Redirect(context.Request.PathBase + "/dashboard") : Serve(""));
        app.MapGet("/dashboard/{file}", (string file) => Serve(file));
        app.MapGet("/", () => Results.Redirect("/dashboard"));
        return app;
    }

    private static IResult Serve(string file)
    {
        if (!Files.TryGetValue(file, out var entry))
        {
            return Results.NotFound();
        }

        var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"dashboard/{entry.Resource}")
            ?? throw new InvalidOperationException($"The dashboard's {entry.Resource} is not compiled into the silo.");
        return Results.Stream(stream, entry.ContentType);
    }
}
