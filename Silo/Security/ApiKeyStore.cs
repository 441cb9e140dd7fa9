using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Hearth.Silo.Security;

/// <summary>A named API key as the silo knows it: the key's hash and its permissions.</summary>
public sealed record ApiKeyEntry(string Name, byte[] Hash, Permission Permissions)
{
    /// <summary>A short, non-secret tag of the key (the start of its hash), so a cookie issued for it ends when the key is replaced.</summary>
    public string Tag => Convert.ToHexStringLower(Hash.AsSpan(0, 6));
}

/// <summary>
/// The API keys a silo accepts, from <c>Auth:ApiKeys</c> and <c>Auth:ApiKeysFile</c>, and the keys it makes.
/// </summary>
/// <remarks>
/// Keys are stored as their SHA-256 only. A plain hash is enough here (no salt, no slow KDF as for passwords) because the
/// keys are made by <see cref="Generate"/>: 256 random bits, which no dictionary or brute-force search of the hash
/// can reach, so stealing the configuration does not give the keys away. Lookups hash the presented key and compare
/// it with every stored hash in constant time, so the time an answer takes says nothing about how close a guess was.
/// </remarks>
public sealed class ApiKeyStore
{
    /// <summary>What every key made here starts with, so that one found in a log or a repository is recognised.</summary>
    public const string Prefix = "hearth_";

    private readonly List<ApiKeyEntry> _entries;

    public ApiKeyStore(IEnumerable<ApiKeyEntry> entries)
    {
        _entries = [.. entries];
    }

    public IReadOnlyList<ApiKeyEntry> Entries => _entries;

    /// <summary>A new key: <see cref="Prefix"/> and 32 random bytes, base64url.</summary>
    public static string Generate() =>
        Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The hash stored for <paramref name="key"/>: SHA-256 of its UTF-8 bytes, 64 lower-case hex digits.</summary>
    public static string Hash(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
    }

    /// <summary>The key <paramref name="presented"/> is, or null.</summary>
    public ApiKeyEntry? Find(string presented)
    {
        ArgumentNullException.ThrowIfNull(presented);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        ApiKeyEntry? found = null;
        // Every entry is compared, whether one matched or not.
        foreach (var entry in _entries)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, entry.Hash))
            {
                found = entry;
            }
        }

        return found;
    }

    /// <summary>The key named <paramref name="name"/>, or null.</summary>
    public ApiKeyEntry? Named(string name) => _entries.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.Ordinal));

    /// <summary>What is wrong with a configured key, each message naming <paramref name="key"/> (the configuration key).</summary>
    public static IEnumerable<string> Problems(string key, string name, string? hash, string? permissions)
    {
        if (name.Length is 0 or > 100 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            yield return $"{key}: a key's name must be 1-100 of a-z A-Z 0-9 - _ .; it is '{name}'.";
        }

        if (hash is null || hash.Length != 64 || !hash.All(char.IsAsciiHexDigit))
        {
            yield return $"{key}:Hash must be the key's SHA-256, 64 hex digits (Hearth.Silo new-api-key prints it).";
        }

        var words = (permissions ?? "").Split([',', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0 || words.Any(w => Permissions.Parse(w) is null))
        {
            yield return $"{key}:Permissions must be 'read' or 'control' (or both); it is '{permissions}'.";
        }
    }

    /// <summary>The keys of <paramref name="options"/>: those configured and those of its file.</summary>
    /// <exception cref="InvalidOperationException">The file cannot be read or holds an invalid key (the message names <c>Auth:ApiKeysFile</c>).</exception>
    public static ApiKeyStore Load(AuthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var entries = options.ApiKeys.Select(k => Entry(k.Key, k.Value.Hash!, k.Value.Permissions!)).ToList();
        if (!string.IsNullOrWhiteSpace(options.ApiKeysFile))
        {
            entries.AddRange(ReadFile(options.ApiKeysFile));
        }

        var duplicate = entries.GroupBy(e => e.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"The API key '{duplicate.Key}' is named twice (Auth:ApiKeys and Auth:ApiKeysFile).");
        }

        return new ApiKeyStore(entries);
    }

    private static ApiKeyEntry Entry(string name, string hash, string permissions) =>
        new(name, Convert.FromHexString(hash), Permissions.ParseAll(permissions));

    private static List<ApiKeyEntry> ReadFile(string path)
    {
        Dictionary<string, ApiKeyOptions>? keys;
        try
        {
            keys = JsonSerializer.Deserialize<Dictionary<string, ApiKeyOptions>>(File.ReadAllText(path),
                new JsonSerializerOptions { PropertyNameCaseInsensitive = true });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new InvalidOperationException($"Auth:ApiKeysFile '{path}' cannot be read: {e.Message}", e);
        }

        var problems = (keys ?? []).SelectMany(k => Problems($"Auth:ApiKeysFile '{path}': {k.Key}", k.Key, k.Value?.Hash, k.Value?.Permissions)).ToList();
        if (problems.Count > 0)
        {
            throw new InvalidOperationException(string.Join(" ", problems));
        }

        return [.. (keys ?? []).Select(k => Entry(k.Key, k.Value.Hash!, k.Value.Permissions!))];
    }
}
