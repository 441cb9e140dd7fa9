using Hearth.Silo.Security;

namespace Hearth.Testing;

/// <summary>
/// The API keys the tests' and the benchmarks' silos accept, new for every test process, so that they run with
/// authentication on, as users run the product: a control key and a read key, configured by their hashes.
/// </summary>
public static class TestApiKeys
{
    public const string ControlName = "test-control";
    public const string ReadName = "test-read";

    /// <summary>A key with the control permission.</summary>
    public static readonly string Control = ApiKeyStore.Generate();

    /// <summary>A key with the read permission only.</summary>
    public static readonly string Read = ApiKeyStore.Generate();

    /// <summary>The silo settings that make it accept <see cref="Control"/> and <see cref="Read"/>.</summary>
    public static IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>(StringComparer.Ordinal)
    {
        [$"Auth:ApiKeys:{ControlName}:Hash"] = ApiKeyStore.Hash(Control),
        [$"Auth:ApiKeys:{ControlName}:Permissions"] = "control",
        [$"Auth:ApiKeys:{ReadName}:Hash"] = ApiKeyStore.Hash(Read),
        [$"Auth:ApiKeys:{ReadName}:Permissions"] = "read",
    };

    /// <summary>An HTTP client of <paramref name="address"/> that sends <paramref name="key"/> (default <see cref="Control"/>) with every request; null sends none.</summary>
    public static HttpClient Client(Uri address, string? key = null, TimeSpan? timeout = null, bool noKey = false)
    {
        var http = new HttpClient { BaseAddress = address, Timeout = timeout ?? TimeSpan.FromSeconds(100) };
        if (!noKey)
        {
            http.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.HeaderName, key ?? Control);
        }

        return http;
    }

    /// <summary>A client that sends no credentials.</summary>
    public static HttpClient Anonymous(Uri address) => Client(address, noKey: true);
}
