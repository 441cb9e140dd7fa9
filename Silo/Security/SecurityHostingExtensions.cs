using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading.RateLimiting;
using Hearth.Silo.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.IdentityModel.Tokens;

namespace Hearth.Silo.Security;

/// <summary>What the silo's security is, once resolved at build: the options, the keys, and the key it made, if it did.</summary>
/// <param name="GeneratedKeyFile">The file holding the control key the silo made for itself (loopback only), or null.</param>
public sealed record SecuritySetup(AuthOptions Options, ApiKeyStore Keys, string? GeneratedKeyFile);

/// <summary>
/// Authentication and authorization of every HTTP endpoint, ASP.NET Core's own way: a policy scheme forwards each
/// request by what it carries (an API key, a bearer token, else the login cookie), the fallback policy requires
/// <c>read</c> of every endpoint that says nothing else, and writes require <c>control</c> and pass a per-caller rate
/// limit. No endpoint checks anything itself.
/// </summary>
public static partial class SecurityHostingExtensions
{
    /// <summary>The default scheme: forwards to <see cref="ApiKeyAuthenticationHandler.SchemeName"/>, <see cref="JwtScheme"/> or <see cref="CookieScheme"/>.</summary>
    public const string PolicyScheme = "Hearth";

    public const string CookieScheme = CookieAuthenticationDefaults.AuthenticationScheme;
    public const string JwtScheme = JwtBearerDefaults.AuthenticationScheme;
    public const string CookieName = "hearth-auth";

    /// <summary>The rate limit of writes, per caller (<c>Auth:WritesPerMinute</c>).</summary>
    public const string WritesRateLimit = "writes";

    /// <summary>The <c>WWW-Authenticate</c> of a 401: how to authenticate.</summary>
    public const string Challenge = "ApiKey header=\"X-Api-Key\", Bearer";

    /// <summary>
    /// Registers authentication, authorization, the write rate limit and the body size limit. A silo configured with
    /// no way to authenticate gets a control key of its own if it listens on loopback only, and refuses to start
    /// otherwise.
    /// </summary>
    /// <exception cref="InvalidOperationException">No way to authenticate on a non-loopback address, or an unreadable <c>Auth:ApiKeysFile</c> (the message names the key).</exception>
    public static SecuritySetup AddSecurity(this WebApplicationBuilder builder, AuthOptions auth, X509Certificate2Collection? jwtAuthorityCas, SiloEndpoints endpoints)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(auth);
        ArgumentNullException.ThrowIfNull(endpoints);
        var setup = Resolve(auth, endpoints);
        var services = builder.Services;
        services.AddSingleton(setup);
        services.AddSingleton(setup.Keys);
        services.AddHostedService<SecurityStartupLog>();
        // Bodies are small (a setting is under 100 bytes): a larger one is refused before it is read (413).
        builder.WebHost.ConfigureKestrel(o => o.Limits.MaxRequestBodySize = auth.MaxRequestBodyBytes);
        AddRateLimiting(services, auth);

        if (auth.IsOff)
        {
            // Auth:Mode=none: the policies the endpoints name let everyone through, and there is no fallback.
            services.AddAuthentication();
            services.AddAuthorizationBuilder()
                .AddPolicy(Permissions.ReadPolicy, p => p.RequireAssertion(_ => true))
                .AddPolicy(Permissions.ControlPolicy, p => p.RequireAssertion(_ => true));
            return setup;
        }

        // The login cookie is encrypted with ASP.NET Core's data protection keys; silos that share them (one machine,
        // or Auth:CookieKeysDirectory on a shared volume) accept each other's cookies behind a load balancer.
        var dataProtection = services.AddDataProtection().SetApplicationName("hearth");
        if (!string.IsNullOrWhiteSpace(auth.CookieKeysDirectory))
        {
            dataProtection.PersistKeysToFileSystem(new DirectoryInfo(auth.CookieKeysDirectory));
        }

        var jwt = auth.Jwt;
        var authentication = services.AddAuthentication(PolicyScheme)
            .AddPolicyScheme(PolicyScheme, "API key, bearer token or login cookie", o => o.ForwardDefaultSelector = context =>
                ApiKeyAuthenticationHandler.PresentedKey(context.Request) is not null ? ApiKeyAuthenticationHandler.SchemeName
                : jwt.IsEnabled && context.Request.Headers.Authorization is [{ } bearer] && bearer.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? JwtScheme
                : CookieScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddCookie(CookieScheme, o =>
            {
                o.Cookie.Name = CookieName;
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                o.SlidingExpiration = true;
                o.Events.OnRedirectToLogin = RedirectBrowsersToLogin;
                o.Events.OnRedirectToAccessDenied = context =>
                {
                    context.Response.StatusCode = StatusCodes.Status403Forbidden;
                    return Task.CompletedTask;
                };
                o.Events.OnValidatePrincipal = ValidateCookieKey;
            });
        if (jwt.IsEnabled)
        {
            authentication.AddJwtBearer(JwtScheme, o => ConfigureJwt(o, jwt, jwtAuthorityCas));
        }

        var read = new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder()
            .RequireAuthenticatedUser().RequireClaim(Permissions.ClaimType, Permissions.ReadPolicy).Build();
        services.AddAuthorizationBuilder()
            .AddPolicy(Permissions.ReadPolicy, read)
            .AddPolicy(Permissions.ControlPolicy, p => p.RequireAuthenticatedUser().RequireClaim(Permissions.ClaimType, Permissions.ControlPolicy))
            // Every endpoint that does not say otherwise (AllowAnonymous, another policy) needs read: new endpoints are protected by default.
            .SetFallbackPolicy(read);
        return setup;
    }

    /// <summary>Authentication, authorization and the rate limiter, in that order (the limiter partitions by the caller).</summary>
    public static WebApplication UseSecurity(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        return app;
    }

    /// <summary>Whether every address in <paramref name="urls"/> is a loopback address (reachable from this machine only).</summary>
    public static bool AllLoopback(IEnumerable<string> urls) => urls.All(url =>
    {
        var host = new Uri(url).Host.Trim('[', ']');
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    });

    private static SecuritySetup Resolve(AuthOptions auth, SiloEndpoints endpoints)
    {
        var keys = ApiKeyStore.Load(auth);
        if (auth.IsOff || keys.Entries.Count > 0 || auth.Jwt.IsEnabled)
        {
            return new SecuritySetup(auth, keys, null);
        }

        if (!AllLoopback(endpoints.Urls))
        {
            throw new InvalidOperationException(
                $"No way to authenticate is configured and the silo listens beyond this machine ({string.Join(", ", endpoints.Urls)}): " +
                "set Auth:ApiKeys:<name>:Hash and Auth:ApiKeys:<name>:Permissions (Hearth.Silo new-api-key <name> prints them), " +
                "or Auth:ApiKeysFile, or Auth:Jwt:Authority and Auth:Jwt:Audience; or Auth:Mode=none to open every endpoint to anyone.");
        }

        // Loopback only: whoever can reach the port is on this machine. A control key for this run, in a file only its owner reads.
        var key = ApiKeyStore.Generate();
        var path = Path.GetFullPath(auth.GeneratedKeyFile);
        File.WriteAllText(path, key + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var entry = new ApiKeyEntry("generated", Convert.FromHexString(ApiKeyStore.Hash(key)), Permission.Control);
        return new SecuritySetup(auth, new ApiKeyStore([entry]), path);
    }

    private static void AddRateLimiting(IServiceCollection services, AuthOptions auth) =>
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = (context, _) =>
            {
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after))
                {
                    context.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                }

                return ValueTask.CompletedTask;
            };
            // Per caller: a key (by the header or the cookie it logged in with) or a token's subject; a caller is never
            // slowed down by another. Anonymous writes (Auth:Mode=none) share their remote address's limit.
            o.AddPolicy(WritesRateLimit, context => RateLimitPartition.GetFixedWindowLimiter(Caller(context), _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = auth.WritesPerMinute,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
            }));
        });

    /// <summary>Who a request is, for rate limits: <c>key:name</c>, <c>token:subject</c>, or <c>address:ip</c>.</summary>
    internal static string Caller(HttpContext context) => context.User switch
    {
        { Identity: { IsAuthenticated: true, Name: { } name } } user when user.HasClaim(c => c.Type == ApiKeyAuthenticationHandler.KeyTagClaim) => "key:" + name,
        { Identity: { IsAuthenticated: true, Name: { } name } } => "token:" + name,
        _ => "address:" + context.Connection.RemoteIpAddress,
    };

    /// <summary>
    /// A browser (a GET asking for HTML) without credentials goes to the login page and comes back after; anything else
    /// gets 401. The redirect is relative, so it holds behind a proxy that rewrites the host.
    /// </summary>
    private static Task RedirectBrowsersToLogin(RedirectContext<CookieAuthenticationOptions> context)
    {
        var request = context.Request;
        var browser = (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) &&
            request.Headers.Accept.Any(a => a?.Contains("text/html", StringComparison.OrdinalIgnoreCase) == true);
        if (browser)
        {
            var back = request.PathBase + request.Path + request.QueryString;
            context.Response.Redirect($"{request.PathBase}/login?ReturnUrl={Uri.EscapeDataString(back)}");
        }
        else
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = Challenge;
        }

        return Task.CompletedTask;
    }

    /// <summary>A login cookie holds while its key does: a key removed or replaced (a new hash) ends the sessions it opened.</summary>
    private static Task ValidateCookieKey(CookieValidatePrincipalContext context)
    {
        var keys = context.HttpContext.RequestServices.GetRequiredService<ApiKeyStore>();
        var name = context.Principal?.Identity?.Name;
        var tag = context.Principal?.FindFirst(ApiKeyAuthenticationHandler.KeyTagClaim)?.Value;
        if (name is null || keys.Named(name) is not { } key || key.Tag != tag)
        {
            context.RejectPrincipal();
        }
        else
        {
            // Its permissions as they are now.
            context.ReplacePrincipal(ApiKeyAuthenticationHandler.Principal(key, CookieScheme));
        }

        return Task.CompletedTask;
    }

    /// <param name="authorityCas">The CAs the identity provider's certificate must chain to; null: the platform's.</param>
    private static void ConfigureJwt(JwtBearerOptions o, JwtOptions jwt, X509Certificate2Collection? authorityCas)
    {
        // Claims keep the names the token gives them ("sub", "scope"), not WS-Federation URIs.
        o.MapInboundClaims = false;
        var parameters = new TokenValidationParameters
        {
            ValidateAudience = true,
            ValidAudience = jwt.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = TimeSpan.FromSeconds(30),
            NameClaimType = jwt.NameClaim,
            RoleClaimType = Permissions.ClaimType,
        };
        if (!string.IsNullOrWhiteSpace(jwt.Authority))
        {
            // The issuer and its signing keys come from the provider's OpenID metadata.
            o.Authority = jwt.Authority;
            o.Audience = jwt.Audience;
            parameters.ValidIssuer = jwt.Issuer;
            if (authorityCas is not null)
            {
                // The metadata and keys are fetched over HTTPS from a provider whose certificate chains to the given CAs
                // alone (its host name checked as always), not to the platform's roots.
                var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
                policy.CustomTrustStore.AddRange(authorityCas);
                o.BackchannelHttpHandler = new SocketsHttpHandler { SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = policy } };
            }
        }
        else
        {
            parameters.IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(jwt.SigningKey!));
            parameters.ValidAlgorithms = [SecurityAlgorithms.HmacSha256];
            parameters.ValidateIssuer = jwt.Issuer is not null;
            parameters.ValidIssuer = jwt.Issuer;
        }

        o.TokenValidationParameters = parameters;
        o.Events = new JwtBearerEvents
        {
            OnTokenValidated = context =>
            {
                if (context.Principal?.Identity is ClaimsIdentity identity)
                {
                    identity.AddClaims(Permissions.Claims(TokenPermissions(identity, jwt.PermissionsClaim)));
                }

                return Task.CompletedTask;
            },
        };
    }

    /// <summary>The permissions a token grants: in its permissions claim (one claim per value, or values separated by spaces) and in <c>scope</c>/<c>scp</c>.</summary>
    internal static Permission TokenPermissions(ClaimsIdentity identity, string permissionsClaim) =>
        identity.Claims
            .Where(c => c.Type == permissionsClaim || c.Type is "scope" or "scp")
            .Aggregate(Permission.None, (all, c) => all | Permissions.ParseAll(c.Value));
}
