using System.Text.Json;

namespace Hearth.Silo.Security;

/// <summary>
/// <c>Hearth.Silo new-api-key &lt;name&gt; [--control]</c>: makes a key, prints it once, and prints what the silos need
/// to accept it, which is its hash only: as environment variables, as <c>--Key=value</c> arguments, and as an entry of
/// <c>Auth:ApiKeysFile</c>. The silo never stores or logs the key itself.
/// </summary>
public static class NewApiKeyCommand
{
    public const string Verb = "new-api-key";

    /// <summary>Bad arguments (<c>EX_USAGE</c>).</summary>
    public const int UsageError = 64;

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var control = args.Contains("--control", StringComparer.Ordinal);
        var rest = args.Where(a => a != "--control").ToList();
        if (rest is not [var name] || name.StartsWith('-'))
        {
            error.WriteLine($"usage: Hearth.Silo {Verb} <name> [--control]   (a read key unless --control)");
            return UsageError;
        }

        var permissions = control ? Permissions.ControlPolicy : Permissions.ReadPolicy;
        var key = ApiKeyStore.Generate();
        var hash = ApiKeyStore.Hash(key);
        if (ApiKeyStore.Problems($"Auth:ApiKeys:{name}", name, hash, permissions).FirstOrDefault() is { } problem)
        {
            error.WriteLine($"error: {problem}");
            return UsageError;
        }

        var file = JsonSerializer.Serialize(new Dictionary<string, object> { [name] = new { hash, permissions } });
        output.WriteLine($"""
            API key '{name}' ({permissions}). It is shown this once: give it to its user (X-Api-Key header, --api-key, the login page).
              {key}

            The silos need its hash only. As environment variables:
              Auth__ApiKeys__{name}__Hash={hash}
              Auth__ApiKeys__{name}__Permissions={permissions}
            As arguments:
              --Auth:ApiKeys:{name}:Hash={hash} --Auth:ApiKeys:{name}:Permissions={permissions}
            As an entry of Auth:ApiKeysFile:
              {file}
            """);
        return 0;
    }
}
