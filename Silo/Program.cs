using Hearth.Silo.EmbeddedKafka;
using Hearth.Silo.Hosting;
using Hearth.Streaming.Kafka.Native;
using Microsoft.Extensions.Options;

// The Kafka client runs on the librdkafka of its NuGet package, never a system one.
Librdkafka.Load();

try
{
    if (args.Length > 0 && args[0] == StandaloneEmbeddedKafka.Verb)
    {
        return await StandaloneEmbeddedKafka.RunAsync(args[1..]);
    }

    await using var app = SiloApplication.Build(args);
    await app.RunAsync();
    return Environment.ExitCode;
}
catch (Exception e) when (e is OptionsValidationException or InvalidOperationException)
{
    // Bad configuration or an unusable environment: say what, name the key, and stop.
    Console.Error.WriteLine($"Silo could not start: {e.Message}");
    return 78;
}
