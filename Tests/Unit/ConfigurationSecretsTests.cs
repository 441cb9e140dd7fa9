using Hearth.Silo.Configuration;
using Hearth.Streaming.Kafka.Hosting;
using Hearth.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hearth.Tests.Unit;

/// <summary>
/// The silo's secrets (Kafka's SASL and TLS passwords, PostgreSQL's password) come from the environment or a mounted
/// file, reach the clients that need them, and are refused in a JSON configuration file with the key named.
/// </summary>
public sealed class ConfigurationSecretsTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public void KafkaPropertyWithADot_IsSetFromTheEnvironment()
    {
        // Kafka__Properties__sasl.password: the provider keeps the dot (Kubernetes and `env` can set such a name).
        var prefix = $"HEARTH_TEST_{Guid.NewGuid():N}_";
        Environment.SetEnvironmentVariable($"{prefix}Kafka__Properties__sasl.password", "from-env");
        Environment.SetEnvironmentVariable($"{prefix}Kafka__Properties__security.protocol", "SASL_SSL");
        try
        {
            var configuration = new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?> { ["Kafka:BootstrapServers"] = "kafka:9092" })
                .AddEnvironmentVariables(prefix)
                .Build();

            var settings = SiloSettings.Read(configuration);

            Assert.Equal("from-env", settings.Kafka.Properties["sasl.password"]);
            Assert.Equal("SASL_SSL", settings.Kafka.Properties["security.protocol"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable($"{prefix}Kafka__Properties__sasl.password", null);
            Environment.SetEnvironmentVariable($"{prefix}Kafka__Properties__security.protocol", null);
        }
    }

    [Fact]
    public void KafkaPropertyFile_IsEveryClientsProperty_WithoutItsLineBreak()
    {
        var file = _directory.File("sasl-password");
        File.WriteAllText(file, "from-file\n");

        var settings = TestSettings.Read(new() { ["Kafka:PropertyFiles:sasl.password"] = file, ["Kafka:Properties:sasl.username"] = "hearth" });

        Assert.Equal("from-file", settings.Kafka.Properties["sasl.password"]);
        Assert.Equal("hearth", settings.Kafka.Properties["sasl.username"]);
        // The provider's own (named) options are bound from the same values.
        var named = new KafkaStreamOptions();
        settings.BindKafka(named);
        Assert.Equal("from-file", named.Properties["sasl.password"]);
        Assert.False(named.Properties.ContainsKey("PropertyFiles"));
    }

    [Fact]
    public void KafkaPropertyFile_Unreadable_OrSetBothWays_FailsNamingTheKey()
    {
        var file = _directory.File("sasl-password");
        File.WriteAllText(file, "from-file");

        Fails(new() { ["Kafka:PropertyFiles:sasl.password"] = "/no/such/file" }, "Kafka:PropertyFiles:sasl.password '/no/such/file' cannot be read");
        Fails(new() { ["Kafka:PropertyFiles:sasl.password"] = file, ["Kafka:Properties:sasl.password"] = "x" },
            "Kafka:Properties:sasl.password and Kafka:PropertyFiles:sasl.password are both set");
    }

    [Theory]
    [InlineData("""{ "Kafka": { "Properties": { "sasl.password": "s3cret" } } }""", "Kafka:Properties:sasl.password must not be in a configuration file; set it in the environment (Kafka__Properties__sasl.password) or use Kafka:PropertyFiles:sasl.password")]
    [InlineData("""{ "Kafka": { "ProducerProperties": { "ssl.key.password": "s3cret" } } }""", "Kafka:ProducerProperties:ssl.key.password must not be in a configuration file")]
    [InlineData("""{ "Kafka": { "ConsumerProperties": { "ssl.keystore.password": "s3cret" } } }""", "Kafka:ConsumerProperties:ssl.keystore.password must not be in a configuration file")]
    [InlineData("""{ "Storage": { "Provider": "postgres", "Password": "s3cret" } }""", "Storage:Password must not be in a configuration file; set it in the environment (Storage__Password) or use Storage:PasswordFile")]
    [InlineData("""{ "Storage": { "Provider": "postgres", "ConnectionString": "Host=db;Username=hearth;Password=s3cret" } }""", "Storage:ConnectionString must not hold a password in a configuration file")]
    [InlineData("""{ "Storage": { "Provider": "postgres", "ConnectionString": "Host=db;Username=hearth;PWD=s3cret" } }""", "Storage:ConnectionString must not hold a password in a configuration file")]
    [InlineData("""{ "Auth": { "Jwt": { "Audience": "hearth", "SigningKey": "0123456789abcdef0123456789abcdef" } } }""", "Auth:Jwt:SigningKey must not be in a configuration file; set it in the environment (Auth__Jwt__SigningKey) or use Auth:Jwt:SigningKeyFile")]
    public void SecretInAJsonFile_IsRefused_NamingTheKey(string json, string message)
    {
        var failure = Assert.Throws<OptionsValidationException>(() => SiloSettings.Read(WithJson(json, [])));

        Assert.Contains(failure.Failures, f => f.StartsWith(message, StringComparison.Ordinal));
    }

    [Fact]
    public void TheSameSettings_WithTheSecretsFromTheEnvironment_AreAccepted()
    {
        // What a deployment's appsettings.json keeps: everything but the secrets, which come from elsewhere.
        const string json = """
            {
              "Kafka": { "Properties": { "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "hearth", "ssl.ca.location": "/etc/hearth/kafka/ca.crt" } },
              "Storage": { "Provider": "postgres", "ConnectionString": "Host=db;Username=hearth;Database=hearth" }
            }
            """;

        var settings = SiloSettings.Read(WithJson(json, new() { ["Kafka:Properties:sasl.password"] = "k", ["Storage:Password"] = "p" }));

        Assert.Equal("k", settings.Kafka.Properties["sasl.password"]);
        Assert.Equal("SCRAM-SHA-512", settings.Kafka.Properties["sasl.mechanism"]);
        Assert.Equal("p", new NpgsqlConnectionStringBuilder(settings.Storage.EffectiveConnectionString).Password);
    }

    [Fact]
    public void JwtSigningKeyFile_IsTheSigningKey_AndIsValidatedAsOne()
    {
        var file = _directory.File("jwt-key");
        File.WriteAllText(file, "0123456789abcdef0123456789abcdef\n");

        var settings = TestSettings.Read(new() { ["Auth:Jwt:Audience"] = "hearth", ["Auth:Jwt:SigningKeyFile"] = file });

        Assert.Equal("0123456789abcdef0123456789abcdef", settings.Auth.Jwt.SigningKey);
        Assert.True(settings.Auth.Jwt.IsEnabled);
        // What the file holds is checked as the key would be: too short for HS256, without an audience.
        File.WriteAllText(file, "short");
        Fails(new() { ["Auth:Jwt:Audience"] = "hearth", ["Auth:Jwt:SigningKeyFile"] = file }, "Auth:Jwt:SigningKey must be at least 32 bytes");
        Fails(new() { ["Auth:Jwt:SigningKeyFile"] = file }, "Auth:Jwt:Audience is required");
        Fails(new() { ["Auth:Jwt:Audience"] = "hearth", ["Auth:Jwt:SigningKeyFile"] = file, ["Auth:Jwt:SigningKey"] = "x" },
            "Auth:Jwt:SigningKey and Auth:Jwt:SigningKeyFile are both set");
        Fails(new() { ["Auth:Jwt:Audience"] = "hearth", ["Auth:Jwt:SigningKeyFile"] = "/no/such/file" }, "Auth:Jwt:SigningKeyFile '/no/such/file' cannot be read");
    }

    [Fact]
    public void PostgresPasswordFile_IsTheConnectionsPassword()
    {
        var file = _directory.File("pg-password");
        File.WriteAllText(file, "from-file\r\n");

        var settings = TestSettings.Read(new() { ["Storage:Provider"] = "postgres", ["Storage:ConnectionString"] = "Host=db;Username=hearth", ["Storage:PasswordFile"] = file });

        var effective = new NpgsqlConnectionStringBuilder(settings.Storage.EffectiveConnectionString);
        Assert.Equal("from-file", effective.Password);
        Assert.Equal("db", effective.Host);
    }

    [Fact]
    public void PostgresPassword_SetTwice_OrForSqlite_FailsNamingTheKey()
    {
        var file = _directory.File("pg-password");
        File.WriteAllText(file, "from-file");

        Fails(new() { ["Storage:Provider"] = "postgres", ["Storage:ConnectionString"] = "Host=db;Password=a", ["Storage:PasswordFile"] = file },
            "Storage:ConnectionString has a password and Storage:Password or Storage:PasswordFile is set too");
        Fails(new() { ["Storage:Provider"] = "postgres", ["Storage:ConnectionString"] = "Host=db", ["Storage:Password"] = "a", ["Storage:PasswordFile"] = file },
            "Storage:Password and Storage:PasswordFile are both set");
        Fails(new() { ["Storage:Provider"] = "postgres", ["Storage:ConnectionString"] = "Host=db", ["Storage:PasswordFile"] = "/no/such/file" },
            "Storage:PasswordFile '/no/such/file' cannot be read");
        Fails(new() { ["Storage:Password"] = "a" }, "Storage:Password and Storage:PasswordFile are for PostgreSQL");
    }

    [Fact]
    public void SecurityProtocol_WithTheEmbeddedBroker_FailsNamingTheKey()
    {
        var values = new Dictionary<string, string?> { ["Kafka:BootstrapServers"] = "127.0.0.1:9092", ["Kafka:Properties:security.protocol"] = "SASL_SSL" };

        // The same settings towards a Kafka cluster (no embedded broker's incarnation) are accepted.
        Assert.Equal("SASL_SSL", TestSettings.Read(values).Kafka.Properties["security.protocol"]);
        var failure = Assert.Throws<OptionsValidationException>(() =>
            TestSettings.Read(values, kafkaLogIncarnation: "embedded-1"));
        Assert.Contains(failure.Failures, f => f.StartsWith("Kafka:Properties:security.protocol is 'SASL_SSL', but Kafka:BootstrapServers is empty", StringComparison.Ordinal));
    }

    public void Dispose() => _directory.Dispose();

    private IConfiguration WithJson(string json, Dictionary<string, string?> environment)
    {
        var path = _directory.File($"appsettings-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        environment.TryAdd("Kafka:BootstrapServers", "kafka:9092");
        return new ConfigurationBuilder()
            .AddJsonFile(path)
            // Stands for the environment and the command line: not a file.
            .AddInMemoryCollection(environment)
            .Build();
    }

    private static void Fails(Dictionary<string, string?> values, string message)
    {
        var failure = Assert.Throws<OptionsValidationException>(() => TestSettings.Read(values));
        Assert.Contains(failure.Failures, f => f.StartsWith(message, StringComparison.Ordinal));
    }
}
