using System.Runtime.InteropServices;
using Hearth.Client;
using Hearth.Kafka.Native;

// The Kafka client runs on the librdkafka of its NuGet package, never a system one.
Librdkafka.Load();

// Ctrl-C and SIGTERM end a command gracefully (simulate prints its summary), not the process abruptly.
using var cancel = new CancellationTokenSource();
using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
return await ClientApp.RunAsync(args, Console.Out, Console.Error, cancel.Token);

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    cancel.Cancel();
}
