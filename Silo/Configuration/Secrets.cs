using System.Data.Common;

namespace Hearth.Silo.Configuration;

/// <summary>
/// Where the silo's secrets may come from: the environment, the command line or a mounted file, never a configuration
/// file (appsettings.json), which ends up in images and repositories. One place, so that every secret is refused and
/// read the same way.
/// </summary>
public static class Secrets
{
    /// <summary>The librdkafka properties that hold a secret: refused in a configuration file under any <c>Kafka:*Properties</c>.</summary>
    public static IReadOnlyList<string> KafkaSecretProperties { get; } =
    [
        "sasl.password",
        "ssl.key.password",
        "ssl.keystore.password",
        "ssl.key.pem",
        "sasl.oauthbearer.client.secret",
    ];

    /// <summary>The Kafka sections of librdkafka properties: every client's, the consumers' and the producer's.</summary>
    public static IReadOnlyList<string> KafkaPropertySections { get; } = ["Properties", "ConsumerProperties", "ProducerProperties"];

    /// <summary>The connection string keywords of a password (Npgsql's and Microsoft.Data.Sqlite's, any case).</summary>
    private static readonly string[] PasswordKeywords = ["Password", "Pwd", "Psw"];

    /// <summary>
    /// Adds a failure if <paramref name="key"/> comes from a configuration file (appsettings.json), naming the key and
    /// where to put it instead: the environment (<c>A__B__C</c>) or <paramref name="fileKey"/>.
    /// </summary>
    public static void NotInFiles(IConfiguration configuration, List<string> failures, string key, string fileKey)
    {
        ArgumentNullException.ThrowIfNull(failures);
        if (FromFiles(configuration, key).Any())
        {
            failures.Add($"{key} must not be in a configuration file; set it in the environment ({EnvironmentName(key)}) or use {fileKey}.");
        }
    }

    /// <summary>
    /// Adds a failure if a configuration file gives <paramref name="key"/> a connection string with a password in it:
    /// the password belongs in the environment or <paramref name="fileKey"/>, and the rest of the string may stay.
    /// </summary>
    public static void NoPasswordInFiles(IConfiguration configuration, List<string> failures, string key, string fileKey)
    {
        ArgumentNullException.ThrowIfNull(failures);
        foreach (var value in FromFiles(configuration, key))
        {
            var builder = new DbConnectionStringBuilder();
            try
            {
                builder.ConnectionString = value;
            }
            catch (ArgumentException)
            {
                // Malformed: the section's validator says so, naming the key.
                continue;
            }

            if (PasswordKeywords.Any(builder.ContainsKey))
            {
                failures.Add($"{key} must not hold a password in a configuration file; set the connection string in the environment ({EnvironmentName(key)}) or the password in {fileKey}.");
                return;
            }
        }
    }

    /// <summary>
    /// The secret: <paramref name="value"/>, or the content of <paramref name="file"/> without its trailing line break
    /// (a mounted Secret, an <c>echo</c>'s file). Both set, or a file that cannot be read, is a failure naming the key.
    /// </summary>
    public static string? Read(string key, string? value, string fileKey, string? file, List<string> failures)
    {
        ArgumentNullException.ThrowIfNull(failures);
        if (file is not { Length: > 0 })
        {
            return value;
        }

        if (value is not null)
        {
            failures.Add($"{key} and {fileKey} are both set; set one.");
            return null;
        }

        try
        {
            return File.ReadAllText(file).TrimEnd('\r', '\n');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            failures.Add($"{fileKey} '{file}' cannot be read: {e.Message}");
            return null;
        }
    }

    /// <summary>The environment variable that sets <paramref name="key"/> (ASP.NET Core's convention; dots are kept).</summary>
    public static string EnvironmentName(string key) => key.Replace(":", "__", StringComparison.Ordinal);

    private static IEnumerable<string> FromFiles(IConfiguration configuration, string key) =>
        configuration is IConfigurationRoot root
            ? root.Providers.OfType<FileConfigurationProvider>()
                .Select(p => p.TryGet(key, out var value) ? value : null)
                .OfType<string>()
            : [];
}
