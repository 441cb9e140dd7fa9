using System.Security.Cryptography.X509Certificates;
using Hearth.Grains;
using Hearth.Silo.Cluster;
using Hearth.Silo.Diagnostics;
using Hearth.Silo.Security;
using Hearth.Streaming.Kafka.Hosting;
using Microsoft.Extensions.Options;

namespace Hearth.Silo.Configuration;

/// <summary>
/// Every section of the silo's configuration, read and validated once before anything starts: the silo's
/// shape (clustering, storage, ports) depends on it. Invalid configuration fails here, naming the keys.
/// </summary>
/// <remarks>
/// One type per section: <c>Kafka</c> is the Kafka stream provider's own <see cref="KafkaStreamOptions"/>
/// (<see cref="KafkaSection"/>), <c>Grains</c> the grains' own <see cref="ThermostatGrainOptions"/>.
/// </remarks>
public sealed record SiloSettings(
    KafkaStreamOptions Kafka,
    TopicsOptions Topics,
    StorageOptions Storage,
    ThermostatGrainOptions Grains,
    OrleansOptions Orleans,
    SiloOptions Silo,
    TelemetryOptions Telemetry,
    AuthOptions Auth)
{
    /// <summary>Section <c>Kafka</c> as it was read.</summary>
    private IConfigurationSection KafkaConfiguration { get; init; } = null!;

    /// <summary>What the silo's Kafka logs are called (<see cref="KafkaStreamOptions.LogIncarnation"/>).</summary>
    private string KafkaLogIncarnation { get; init; } = "";

    /// <summary>The silo's TLS certificate and the cluster's CA, loaded from <c>Orleans:Tls</c>; null when TLS is off.</summary>
    public ClusterTls? ClusterTls { get; private init; }

    /// <summary>The CAs the identity provider's HTTPS certificate chains to (<c>Auth:Jwt:AuthorityCaPath</c>); null: the platform's.</summary>
    public X509Certificate2Collection? JwtAuthorityCas { get; private init; }

    /// <summary>Reads and validates the configuration.</summary>
    /// <param name="kafkaLogIncarnation">The embedded broker's incarnation, when the silo hosts one; empty for a Kafka cluster.</param>
    /// <exception cref="OptionsValidationException">Some values are invalid; the message names every key.</exception>
    /// <exception cref="InvalidOperationException">A value could not be converted; the message names the key.</exception>
    public static SiloSettings Read(IConfiguration configuration, string kafkaLogIncarnation = "")
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(kafkaLogIncarnation);
        var failures = new List<string>();
        var topics = Bind(configuration, TopicsOptions.SectionName, new TopicsOptionsValidator(), failures);
        var storage = Bind(configuration, StorageOptions.SectionName, new StorageOptionsValidator(), failures);
        var grains = Bind(configuration, ThermostatGrainOptions.SectionName, new ThermostatGrainOptionsValidator(), failures);
        var orleans = Bind(configuration, OrleansOptions.SectionName, new OrleansOptionsValidator(), failures);
        var silo = Bind(configuration, SiloOptions.SectionName, new SiloOptionsValidator(), failures);
        var telemetry = Bind(configuration, TelemetryOptions.SectionName, new TelemetryOptionsValidator(), failures);
        var auth = Bind(configuration, AuthOptions.SectionName, new AuthOptionsValidator(), failures,
            a => a.Jwt.SigningKey = Secrets.Read("Auth:Jwt:SigningKey", a.Jwt.SigningKey, "Auth:Jwt:SigningKeyFile", a.Jwt.SigningKeyFile, failures));
        RefuseSecretsInFiles(configuration, failures);
        storage.Password = Secrets.Read("Storage:Password", storage.Password, "Storage:PasswordFile", storage.PasswordFile, failures);
        // The files are read now, so that a missing, unreadable or mismatched one fails the start with its key named.
        var clusterTls = ClusterTls.Load(orleans.Tls, failures);
        var jwtAuthorityCas = auth.Jwt is { AuthorityCaPath: { Length: > 0 } caPath, Authority: { Length: > 0 } }
            ? PemCertificates.Load("Auth:Jwt:AuthorityCaPath", caPath, failures)
            : null;
        // After the sections it takes values from.
        var kafkaConfiguration = KafkaSection.Snapshot(configuration, failures);
        var kafka = new KafkaStreamOptions();
        KafkaSection.Bind(kafkaConfiguration, kafka, topics, silo, kafkaLogIncarnation);
        failures.InsertRange(0, KafkaSection.Validate(kafkaConfiguration, kafka));
        if (failures.Count > 0)
        {
            throw new OptionsValidationException("configuration", typeof(SiloSettings), failures);
        }

        return new SiloSettings(kafka, topics, storage, grains, orleans, silo, telemetry, auth)
        {
            KafkaConfiguration = kafkaConfiguration,
            KafkaLogIncarnation = kafkaLogIncarnation,
            ClusterTls = clusterTls,
            JwtAuthorityCas = jwtAuthorityCas,
        };
    }

    /// <summary>
    /// Binds the Kafka stream provider's own (named) options as <see cref="Kafka"/> was bound: from the same values of
    /// section <c>Kafka</c>, the same other sections, the same log incarnation. Nothing is copied option by option.
    /// </summary>
    public void BindKafka(KafkaStreamOptions options) =>
        KafkaSection.Bind(KafkaConfiguration, options, Topics, Silo, KafkaLogIncarnation);

    /// <summary>Registers every section as <see cref="IOptions{TOptions}"/> with the values read.</summary>
    public void Register(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(this);
        services.AddSingleton(Options.Create(Kafka));
        services.AddSingleton(Options.Create(Topics));
        services.AddSingleton(Options.Create(Storage));
        services.AddSingleton(Options.Create(Grains));
        services.AddSingleton(Options.Create(Orleans));
        services.AddSingleton(Options.Create(Silo));
        services.AddSingleton(Options.Create(Telemetry));
        services.AddSingleton(Options.Create(Auth));
    }

    /// <summary>
    /// Adds a failure for each secret that comes from a configuration file (appsettings.json): a secret there ends up in
    /// images and repositories. Environment variables, the command line and mounted files are where secrets belong.
    /// </summary>
    private static void RefuseSecretsInFiles(IConfiguration configuration, List<string> failures)
    {
        Secrets.NotInFiles(configuration, failures, $"{OrleansOptions.SectionName}:Tls:CertificatePassword", $"{OrleansOptions.SectionName}:Tls:CertificatePasswordFile");
        Secrets.NotInFiles(configuration, failures, $"{StorageOptions.SectionName}:Password", $"{StorageOptions.SectionName}:PasswordFile");
        Secrets.NotInFiles(configuration, failures, $"{AuthOptions.SectionName}:Jwt:SigningKey", $"{AuthOptions.SectionName}:Jwt:SigningKeyFile");
        Secrets.NoPasswordInFiles(configuration, failures, $"{StorageOptions.SectionName}:ConnectionString", $"{StorageOptions.SectionName}:PasswordFile");
        foreach (var section in Secrets.KafkaPropertySections)
        {
            foreach (var property in Secrets.KafkaSecretProperties)
            {
                Secrets.NotInFiles(configuration, failures, $"{KafkaSection.Name}:{section}:{property}", $"{KafkaSection.Name}:{KafkaSection.PropertyFiles}:{property}");
            }
        }
    }

    /// <param name="resolve">Completes the bound options before they are validated (a secret read from its file).</param>
    private static T Bind<T>(IConfiguration configuration, string section, IValidateOptions<T> validator, List<string> failures, Action<T>? resolve = null)
        where T : class, new()
    {
        var options = new T();
        configuration.GetSection(section).Bind(options);
        resolve?.Invoke(options);
        var result = validator.Validate(null, options);
        if (result.Failed)
        {
            failures.AddRange(result.Failures);
        }

        return options;
    }
}
