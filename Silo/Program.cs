using Hearth.Silo.Hosting;
using Microsoft.Extensions.Options;

try
{
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
