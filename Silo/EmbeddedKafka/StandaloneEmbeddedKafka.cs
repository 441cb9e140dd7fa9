using Hearth.Kafka.Native;
using Hearth.Silo.Configuration;

namespace Hearth.Silo.EmbeddedKafka;

/// <summary>
/// <c>Hearth.Silo embedded-kafka</c>: the development broker as a process of its own, so that several
/// silos (and any Kafka client) can share it. It creates the configured topics, logs its address and
/// writes it to <c>Kafka:EmbeddedBootstrapFile</c>, and runs until stopped. Not durable.
/// </summary>
public static class StandaloneEmbeddedKafka
{
    public const string Verb = "embedded-kafka";

    public static async Task<int> RunAsync(string[] args)
    {
        // The broker is librdkafka's mock cluster: the librdkafka of its NuGet package, never a system one.
        Librdkafka.Load();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Services.AddOptions<KafkaOptions>().BindConfiguration(KafkaOptions.SectionName);
        builder.Services.AddOptions<TopicsOptions>().BindConfiguration(TopicsOptions.SectionName);
        // Whatever the configuration says, this process is the broker.
        builder.Configuration[$"{KafkaOptions.SectionName}:{nameof(KafkaOptions.BootstrapServers)}"] = "";
        builder.AddEmbeddedKafkaIfUnconfigured();
        using var host = builder.Build();
        await host.RunAsync();
        return 0;
    }
}
