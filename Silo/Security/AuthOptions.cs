using Hearth.Silo.Configuration;
using Microsoft.Extensions.Options;

namespace Hearth.Silo.Security;

/// <summary>Who may use the silo's HTTP endpoints, and how they prove it. Section <c>Auth</c>.</summary>
/// <remarks>
/// Every endpoint but <c>/health/*</c> needs a caller with the <c>read</c> permission; publishing a setting needs
/// <c>control</c>. Callers authenticate with an API key (<see cref="ApiKeys"/>, <see cref="ApiKeysFile"/>), a JWT
/// bearer token (<see cref="Jwt"/>), or, in a browser, the cookie the login page gives for an API key.
/// </remarks>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    public const string KeysMode = "keys";
    public const string NoneMode = "none";
    public const int DefaultWritesPerMinute = 120;
    public const long DefaultMaxRequestBodyBytes = 16 * 1024;
    public const string DefaultGeneratedKeyFile = "hearth-api-key";

    /// <summary>
    /// <c>keys</c> (default): API keys and JWT bearer tokens as configured. <c>none</c>: every endpoint is open to anyone
    /// who reaches the port, a choice the silo logs at Warning when it starts.
    /// </summary>
    public string Mode { get; set; } = KeysMode;

    /// <summary>Named API keys, by name: each the SHA-256 of the key (hex) and its permissions. Never the key itself.</summary>
    public Dictionary<string, ApiKeyOptions> ApiKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// A JSON file of more named keys, as <see cref="ApiKeys"/>: <c>{"name": {"hash": "...", "permissions": "read"}}</c>
    /// (a mounted Kubernetes Secret, say). Read once at start.
    /// </summary>
    public string? ApiKeysFile { get; set; }

    /// <summary>JWT bearer tokens from the operator's identity provider; off unless an authority or a signing key is set.</summary>
    public JwtOptions Jwt { get; set; } = new();

    /// <summary>Serve <c>/metrics</c> to anyone (a Prometheus scraper without credentials). Off by default.</summary>
    public bool AnonymousMetrics { get; set; }

    /// <summary>
    /// Where a silo listening on loopback only, configured with no way to authenticate, writes the control key it
    /// makes at start (relative to the working directory). The key is never logged, only this path.
    /// </summary>
    public string GeneratedKeyFile { get; set; } = DefaultGeneratedKeyFile;

    /// <summary>
    /// Where the keys that encrypt login cookies are kept (ASP.NET Core data protection). Empty: ASP.NET Core's default
    /// (<c>~/.aspnet/DataProtection-Keys</c>), which silos on one machine share. Silos on several machines behind one
    /// load balancer need a shared directory here, or a browser's cookie from one silo is refused by the next.
    /// </summary>
    public string? CookieKeysDirectory { get; set; }

    /// <summary>Writes (settings published) each caller may make per minute; more are answered 429 with <c>Retry-After</c>.</summary>
    /// <remarks>Allowed range 1 to 1,000,000.</remarks>
    public int WritesPerMinute { get; set; } = DefaultWritesPerMinute;

    /// <summary>The largest request body the silo reads; a larger one is answered 413. A setting is under 100 bytes.</summary>
    /// <remarks>Allowed range 1 KiB to 10 MiB.</remarks>
    public long MaxRequestBodyBytes { get; set; } = DefaultMaxRequestBodyBytes;

    /// <summary>How long a failed login waits before it is answered, so that guessing keys through the form is slow.</summary>
    /// <remarks>Allowed range 0 to 10 s.</remarks>
    public TimeSpan FailedLoginDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Whether authentication is off (<see cref="Mode"/> <c>none</c>).</summary>
    public bool IsOff => string.Equals(Mode, NoneMode, StringComparison.OrdinalIgnoreCase);
}

/// <summary>One named API key: <c>Auth:ApiKeys:&lt;name&gt;:Hash</c> and <c>...:Permissions</c>.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>The SHA-256 of the key's UTF-8 bytes, 64 hex digits (<c>Hearth.Silo new-api-key</c> prints it).</summary>
    public string? Hash { get; set; }

    /// <summary><c>read</c> or <c>control</c> (which includes read), or both separated by commas or spaces.</summary>
    public string? Permissions { get; set; }
}

/// <summary>JWT bearer tokens. Section <c>Auth:Jwt</c>.</summary>
public sealed class JwtOptions
{
    public const string DefaultPermissionsClaim = "permissions";
    public const string DefaultNameClaim = "sub";

    /// <summary>The identity provider (an https URL): its OpenID metadata gives the issuer and signing keys.</summary>
    public string? Authority { get; set; }

    /// <summary>
    /// A PEM file of the CA certificates that the identity provider's HTTPS certificate must chain to, for a provider
    /// inside the organisation whose CA the platform does not trust. Its host name is still checked. Unset: the
    /// platform's trust store.
    /// </summary>
    public string? AuthorityCaPath { get; set; }

    /// <summary>The audience tokens must name (this API); required with an authority or a signing key.</summary>
    public string? Audience { get; set; }

    /// <summary>The issuer tokens must name; with <see cref="Authority"/> it comes from the provider's metadata.</summary>
    public string? Issuer { get; set; }

    /// <summary>
    /// A symmetric key (HS256, at least 32 bytes of UTF-8) instead of an authority: for tests and development, where
    /// whoever holds it can mint tokens. From the environment (<c>Auth__Jwt__SigningKey</c>) or
    /// <see cref="SigningKeyFile"/>; refused in a configuration file.
    /// </summary>
    public string? SigningKey { get; set; }

    /// <summary>A file holding <see cref="SigningKey"/> (a mounted Secret), read at start without its trailing line break.</summary>
    public string? SigningKeyFile { get; set; }

    /// <summary>The claim that carries the permissions (<c>read</c>, <c>control</c>), an array or space-separated; <c>scope</c> and <c>scp</c> are read too.</summary>
    public string PermissionsClaim { get; set; } = DefaultPermissionsClaim;

    /// <summary>The claim that names the caller (rate limits and logs).</summary>
    public string NameClaim { get; set; } = DefaultNameClaim;

    /// <summary>Whether tokens are accepted at all.</summary>
    public bool IsEnabled => !string.IsNullOrWhiteSpace(Authority) || !string.IsNullOrWhiteSpace(SigningKey);
}

/// <summary>Validates <see cref="AuthOptions"/>.</summary>
public sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var failures = new List<string>();
        if (options.Mode is not { } mode || !(mode.Equals(AuthOptions.KeysMode, StringComparison.OrdinalIgnoreCase) || mode.Equals(AuthOptions.NoneMode, StringComparison.OrdinalIgnoreCase)))
        {
            failures.Add($"Auth:Mode must be '{AuthOptions.KeysMode}' or '{AuthOptions.NoneMode}'; it is '{options.Mode}'.");
        }

        foreach (var (keyName, key) in options.ApiKeys)
        {
            failures.AddRange(ApiKeyStore.Problems($"Auth:ApiKeys:{keyName}", keyName, key.Hash, key.Permissions));
        }

        var jwt = options.Jwt;
        if (jwt.IsEnabled)
        {
            if (string.IsNullOrWhiteSpace(jwt.Audience))
            {
                failures.Add("Auth:Jwt:Audience is required with Auth:Jwt:Authority or Auth:Jwt:SigningKey.");
            }

            if (!string.IsNullOrWhiteSpace(jwt.Authority) && !string.IsNullOrWhiteSpace(jwt.SigningKey))
            {
                failures.Add("Auth:Jwt:Authority and Auth:Jwt:SigningKey exclude each other: set one.");
            }

            if (!string.IsNullOrWhiteSpace(jwt.Authority) &&
                (!Uri.TryCreate(jwt.Authority, UriKind.Absolute, out var authority) || authority.Scheme != Uri.UriSchemeHttps))
            {
                failures.Add($"Auth:Jwt:Authority must be an absolute https URL; it is '{jwt.Authority}'.");
            }

            // The file itself is read once, by SiloSettings, which names it if it cannot be used.
            if (!string.IsNullOrWhiteSpace(jwt.AuthorityCaPath) && string.IsNullOrWhiteSpace(jwt.Authority))
            {
                failures.Add("Auth:Jwt:AuthorityCaPath is for Auth:Jwt:Authority, which is not set.");
            }

            if (!string.IsNullOrWhiteSpace(jwt.SigningKey) && System.Text.Encoding.UTF8.GetByteCount(jwt.SigningKey) < 32)
            {
                failures.Add("Auth:Jwt:SigningKey must be at least 32 bytes (HS256 needs 256 bits).");
            }

            if (string.IsNullOrWhiteSpace(jwt.PermissionsClaim))
            {
                failures.Add("Auth:Jwt:PermissionsClaim is required.");
            }

            if (string.IsNullOrWhiteSpace(jwt.NameClaim))
            {
                failures.Add("Auth:Jwt:NameClaim is required.");
            }
        }

        if (string.IsNullOrWhiteSpace(options.GeneratedKeyFile))
        {
            failures.Add("Auth:GeneratedKeyFile is required.");
        }

        OptionChecks.Range(failures, "Auth:WritesPerMinute", options.WritesPerMinute, 1, 1_000_000);
        OptionChecks.Range(failures, "Auth:MaxRequestBodyBytes", options.MaxRequestBodyBytes, 1024, 10 * 1024 * 1024);
        OptionChecks.Range(failures, "Auth:FailedLoginDelay", options.FailedLoginDelay, TimeSpan.Zero, TimeSpan.FromSeconds(10));
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
