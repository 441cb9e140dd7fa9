using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Hearth.Silo.Security;

/// <summary>
/// Authenticates a request by the API key it carries: <c>X-Api-Key: &lt;key&gt;</c> or <c>Authorization: ApiKey &lt;key&gt;</c>.
/// The caller is the key's name, with the key's permissions as <see cref="Permissions.ClaimType"/> claims.
/// </summary>
public sealed partial class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyStore keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";
    private const string AuthorizationPrefix = "ApiKey ";

    /// <summary>The key a request carries, or null.</summary>
    public static string? PresentedKey(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Headers[HeaderName] is [{ Length: > 0 } key])
        {
            return key.Trim();
        }

        return request.Headers.Authorization is [{ } authorization] && authorization.StartsWith(AuthorizationPrefix, StringComparison.OrdinalIgnoreCase)
            ? authorization[AuthorizationPrefix.Length..].Trim()
            : null;
    }

    /// <summary>The identity of a caller holding <paramref name="key"/>, for <paramref name="scheme"/>.</summary>
    public static ClaimsPrincipal Principal(ApiKeyEntry key, string scheme)
    {
        ArgumentNullException.ThrowIfNull(key);
        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, key.Name), new Claim(KeyTagClaim, key.Tag), .. Permissions.Claims(key.Permissions)],
            scheme, ClaimTypes.Name, Permissions.ClaimType);
        return new ClaimsPrincipal(identity);
    }

    /// <summary>The claim with the key's <see cref="ApiKeyEntry.Tag"/>.</summary>
    public const string KeyTagClaim = "hearth:key";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (PresentedKey(Request) is not { } presented)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (keys.Find(presented) is not { } key)
        {
            LogUnknownKey(Logger, Context.Connection.RemoteIpAddress?.ToString() ?? "-", Request.Method, Request.Path);
            return Task.FromResult(AuthenticateResult.Fail("The API key is not known."));
        }

        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(Principal(key, Scheme.Name), Scheme.Name)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = SecurityHostingExtensions.Challenge;
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A request from {RemoteAddress} ({Method} {Path}) carried an unknown API key")]
    private static partial void LogUnknownKey(ILogger logger, string remoteAddress, string method, string path);
}
