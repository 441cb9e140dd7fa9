using Hearth.Silo.Configuration;
using Microsoft.Extensions.Options;

namespace Hearth.Silo.Diagnostics;

/// <summary>
/// <c>X-Hearth-Served-By</c> on every answer: the name of the silo that produced it, so that behind a load balancer
/// one can tell which silo answered.
/// </summary>
public static class ServedByHeader
{
    public const string Name = "X-Hearth-Served-By";

    /// <summary>Adds the header (with <c>Silo:Name</c>) to every response of the middleware that follow.</summary>
    public static IApplicationBuilder UseServedByHeader(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var silo = app.ApplicationServices.GetRequiredService<IOptions<SiloOptions>>().Value.Name;
        return app.Use((context, next) =>
        {
            // When the response starts, so that an answer the exception handler rewrote carries it too.
            context.Response.OnStarting(() =>
            {
                context.Response.Headers[Name] = silo;
                return Task.CompletedTask;
            });
            return next(context);
        });
    }
}
