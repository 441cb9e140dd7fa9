using Hearth.Runtime.Storage;
using Microsoft.Extensions.Hosting;

namespace Hearth.Runtime.Hosting;

/// <summary>Creates or migrates the database schema before anything else of the runtime starts.</summary>
internal sealed class StorageInitializer(ICheckpointStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.InitializeAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
