using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;

namespace Hearth.Silo.Security;

/// <summary>
/// <c>/login</c>: a form that exchanges an API key for the login cookie, so browsers reach the dashboards; <c>/logout</c>
/// ends it. A failed login is logged with the remote address (never the key) and answered only after
/// <c>Auth:FailedLoginDelay</c>.
/// </summary>
public static partial class LoginEndpoints
{
    private const string DefaultReturn = "/dashboard";

    public static IEndpointRouteBuilder MapLogin(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/login", (HttpContext context) => Page(context, context.Request.Query["ReturnUrl"], failed: false)).AllowAnonymous();
        app.MapPost("/login", LoginAsync).AllowAnonymous();
        app.MapPost("/logout", async (HttpContext context) =>
        {
            await context.SignOutAsync(SecurityHostingExtensions.CookieScheme);
            return Results.Redirect(context.Request.PathBase + "/login");
        }).AllowAnonymous();
        return app;
    }

    private static async Task<IResult> LoginAsync(
        HttpContext context, ApiKeyStore keys, SecuritySetup setup, TimeProvider time, ILoggerFactory loggers)
    {
        var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync(context.RequestAborted) : FormCollection.Empty;
        var returnUrl = form["returnUrl"].ToString();
        var key = form["key"].ToString().Trim();
        if (key.Length > 0 && keys.Find(key) is { } entry)
        {
            await context.SignInAsync(SecurityHostingExtensions.CookieScheme, ApiKeyAuthenticationHandler.Principal(entry, SecurityHostingExtensions.CookieScheme));
            return Results.Redirect(LocalOrDefault(context, returnUrl));
        }

        LogFailedLogin(loggers.CreateLogger(typeof(LoginEndpoints).FullName!), context.Connection.RemoteIpAddress?.ToString() ?? "-");
        // Slows guessing through the form down; the keys' 256 random bits are what make guessing hopeless.
        await Task.Delay(setup.Options.FailedLoginDelay, time, context.RequestAborted);
        return Page(context, returnUrl, failed: true);
    }

    /// <summary>Only a path on this site: never another host (<c>//evil</c>, <c>/\evil</c>, <c>https://...</c>).</summary>
    internal static string LocalOrDefault(HttpContext context, string? returnUrl) =>
        returnUrl is ['/', ..] && !returnUrl.StartsWith("//", StringComparison.Ordinal) && !returnUrl.StartsWith("/\\", StringComparison.Ordinal)
            ? returnUrl
            : context.Request.PathBase + DefaultReturn;

    private static IResult Page(HttpContext context, string? returnUrl, bool failed)
    {
        var back = HtmlEncoder.Default.Encode(LocalOrDefault(context, returnUrl));
        var error = failed ? """<p class="error" data-testid="login-error">That key is not valid.</p>""" : "";
        var html = $$"""
            <!doctype html>
            <html lang="en">
            <head>
              <meta charset="utf-8">
              <meta name="viewport" content="width=device-width, initial-scale=1">
              <title>Hearth: log in</title>
              <style>
                :root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; font-size: 14px; color: #1d2330; background: #f5f6f8; }
                body { margin: 0; }
                header { padding: 12px 24px; background: #1d2330; color: #fff; }
                header h1 { font-size: 18px; margin: 0; font-weight: 600; }
                header .muted { color: #aab1c0; font-weight: 400; }
                main { max-width: 420px; margin: 48px auto; background: #fff; border: 1px solid #e3e6ec; border-radius: 8px; padding: 20px 24px; }
                label { display: block; color: #6b7385; font-size: 12px; margin-bottom: 6px; }
                input { width: 100%; box-sizing: border-box; padding: 8px; border: 1px solid #e3e6ec; border-radius: 6px; font: inherit; }
                button { margin-top: 14px; padding: 8px 16px; border: 0; border-radius: 6px; background: #1d2330; color: #fff; font: inherit; cursor: pointer; }
                .error { color: #c53030; }
                .muted { color: #6b7385; }
              </style>
            </head>
            <body>
              <header><h1>Hearth <span class="muted">log in</span></h1></header>
              <main>
                {{error}}
                <form method="post" action="login">
                  <label for="key">API key (read or control)</label>
                  <input id="key" name="key" type="password" autocomplete="current-password" autofocus required data-testid="login-key">
                  <input type="hidden" name="returnUrl" value="{{back}}">
                  <button type="submit" data-testid="login-submit">Log in</button>
                </form>
                <p class="muted">./run.sh prints a key; an operator makes one with <code>Hearth.Silo new-api-key &lt;name&gt;</code>.</p>
              </main>
            </body>
            </html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", statusCode: failed ? StatusCodes.Status401Unauthorized : StatusCodes.Status200OK);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A login from {RemoteAddress} failed: the key is not known")]
    private static partial void LogFailedLogin(ILogger logger, string remoteAddress);
}
