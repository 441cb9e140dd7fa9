using Hearth.Client;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
return await ClientApp.RunAsync(args, Console.Out, Console.Error, cancel.Token);
