using Hearth.Silo.EmbeddedKafka;
using Hearth.Silo.Hosting;
using Microsoft.Extensions.Options;

try
{
    if (args.Length > 0 && args[0] == StandaloneEmbeddedKafka.Verb)
    {
        return await StandaloneEmbeddedKafka.RunAsync(args[1..]);
    }

    await using var app = SiloApplication.Build(args);
    await SiloApplication.RunAsync(app);
    return Environment.ExitCode;
}
catch (PortInUseException e)
{
    // Checked before the silo joins anything: nothing to undo.
    Console.Error.WriteLine($"Silo could not start: {e.Message}");
    return 69;
}
catch (IOException e) when (e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
{
    // Another process took the HTTP port between the check and the bind; the silo, started by then, has left the cluster.
    Console.Error.WriteLine($"Silo could not start: {e.Message}");
    return 69;
}
catch (Exception e) when (e is OptionsValidationException or InvalidOperationException or OrleansConfigurationException)
{
    // Bad configuration or an unusable environment: say what, name the key, and stop.
    Console.Error.WriteLine($"Silo could not start: {e.Message}");
    return 78;
}
