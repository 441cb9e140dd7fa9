using Hearth.Grains;
using Hearth.Silo.Diagnostics;
using Microsoft.Extensions.Options;

namespace Hearth.Silo.Configuration;

/// <summary>
/// Every section of the silo's configuration, read and validated once before anything starts: the silo's
/// shape (clustering, storage, ports) depends on it. Invalid configuration fails here, naming the keys.
/// </summary>
public sealed record SiloSettings(
    KafkaOptions Kafka,
    TopicsOptions Topics,
    StorageOptions Storage,
    ThermostatGrainOptions Grains,
    OrleansOptions Orleans,
    SiloOptions Silo,
    TelemetryOptions Telemetry)
{
    /// <summary>Reads and validates the configuration.</summary>
    /// <exception cref="OptionsValidationException">Some values are invalid; the message names every key.</exception>
    /// <exception cref="InvalidOperationException">A value could not be converted; the message names the key.</exception>
    public static SiloSettings Read(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var failures = new List<string>();
        var settings = new SiloSettings(
            Bind(configuration, KafkaOptions.SectionName, new KafkaOptionsValidator(), failures),
            Bind(configuration, TopicsOptions.SectionName, new TopicsOptionsValidator(), failures),
            Bind(configuration, StorageOptions.SectionName, new StorageOptionsValidator(), failures),
            Bind(configuration, ThermostatGrainOptions.SectionName, new ThermostatGrainOptionsValidator(), failures),
            Bind(configuration, OrleansOptions.SectionName, new OrleansOptionsValidator(), failures),
            Bind(configuration, SiloOptions.SectionName, new SiloOptionsValidator(), failures),
            Bind(configuration, TelemetryOptions.SectionName, new TelemetryOptionsValidator(), failures));
        if (failures.Count > 0)
        {
            throw new OptionsValidationException("configuration", typeof(SiloSettings), failures);
        }

        return settings;
    }

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
    }

    private static T Bind<T>(IConfiguration configuration, string section, IValidateOptions<T> validator, List<string> failures)
        where T : class, new()
    {
        var options = new T();
        configuration.GetSection(section).Bind(options);
        var result = validator.Validate(null, options);
        if (result.Failed)
        {
            failures.AddRange(result.Failures);
        }

        return options;
    }
}
