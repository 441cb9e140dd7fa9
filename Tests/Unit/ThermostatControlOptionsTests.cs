using Hearth.Grains;
using Hearth.Silo.Configuration;
using Hearth.Silo.Hosting;
using Hearth.Streaming.Kafka.Hosting;
using Hearth.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Hearth.Tests.Unit;

/// <summary>What a silo running <c>AddThermostatControl</c> (built, not started) gets of its configuration's sections.</summary>
public sealed class ThermostatControlOptionsTests
{
    [Fact]
    public void TheGrainsAndTheDispatcher_GetTheGrainsSectionAsRead()
    {
        var settings = Read(new() { ["Grains:WriteBehindInterval"] = "00:00:03", ["Grains:MaxAttempts"] = "7" });
        using var silo = SiloHost(settings);

        var options = silo.Services.GetRequiredService<IOptions<ThermostatGrainOptions>>().Value;

        Assert.Same(settings.Grains, options);
        Assert.Equal(7, options.MaxAttempts);
    }

    [Fact]
    public void TheKafkaStreamProvider_GetsSectionKafkaAsRead()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = "127.0.0.1:9092",
            ["Kafka:CommitIntervalMs"] = "250",
            ["Kafka:MaxBatchSize"] = "7",
            ["Kafka:Properties:client.rack"] = "rack-1",
            ["Topics:Settings"] = "settings-elsewhere",
            ["Silo:Name"] = "silo-9",
        }).Build();
        var settings = SiloSettings.Read(configuration, kafkaLogIncarnation: "embedded-1");
        // As a configuration file that changes after the silo read it.
        configuration["Kafka:MaxBatchSize"] = "8";
        using var silo = SiloHost(settings, register: true);

        var provider = silo.Services.GetRequiredService<IOptionsMonitor<KafkaStreamOptions>>().Get(ThermostatStreams.Provider);

        Assert.Equivalent(settings.Kafka, provider, strict: true);
        Assert.Equal(7, provider.MaxBatchSize);
        Assert.Equal("embedded-1", provider.LogIncarnation);
        Assert.Same(settings.Kafka, silo.Services.GetRequiredService<IOptions<KafkaStreamOptions>>().Value);
    }

    private static SiloSettings Read(Dictionary<string, string?> values) => TestSettings.Read(values, "127.0.0.1:9092");

    /// <summary>A silo host; <paramref name="register"/> as the silo executable's does (Orleans' test cluster does not).</summary>
    private static IHost SiloHost(SiloSettings settings, bool register = false)
    {
        var builder = Host.CreateApplicationBuilder();
        if (register)
        {
            settings.Register(builder.Services);
        }

        builder.UseOrleans(silo => silo.UseLocalhostClustering().AddThermostatControl(settings));
        return builder.Build();
    }
}
