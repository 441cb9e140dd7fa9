using Hearth.Kafka.Native;
using Hearth.Silo.Configuration;
using Hearth.Silo.Hosting;

namespace Hearth.Silo.EmbeddedKafka;

/// <summary>
/// <c>Hearth.Silo embedded-kafka</c>: the development broker as a process of its own, so that several
/// silos (and any Kafka client) can share it. It creates the configured topics, logs its address and
/// writes it to <c>EmbeddedKafka:BootstrapFile</c>, and runs until stopped. Not durable.
/// </summary>
public static class StandaloneEmbeddedKafka
{
    public const string Verb = "embedded-kafka";

    /// <summary>Runs the broker until it is told to stop; returns the process's exit code.</summary>
    /// <param name="error">Where a failure to create the broker is told, in one line (exit code as <see cref="SiloExecutable"/>'s).</param>
    public static async Task<int> RunAsync(string[] args, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(error);
        // The broker is librdkafka's mock cluster: the librdkafka of its NuGet package, never a system one.
        Librdkafka.Load();
        IHost host;
        try
        {
            host = Build(args);
        }
        catch (Exception e) when (SiloExecutable.StartFailure(e) is { } code)
        {
            // Invalid Topics settings, or librdkafka could not create the broker.
            await error.WriteLineAsync($"Silo could not start: {e.Message}");
            return code;
        }

        using (host)
        {
            await host.RunAsync();
        }

        return 0;
    }

    private static IHost Build(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Services.AddOptions<TopicsOptions>().BindConfiguration(TopicsOptions.SectionName);
        // Whatever the configuration says, this process is the broker.
        builder.Configuration[KafkaSection.BootstrapServersKey] = "";
        builder.AddEmbeddedKafkaIfUnconfigured();
        return builder.Build();
    }
}
