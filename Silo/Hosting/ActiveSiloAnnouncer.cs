using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Hearth.Silo.Hosting;

/// <summary>Logs, once Orleans has made the silo active, where it is: what an operator (and a script waiting for it) looks for.</summary>
internal sealed partial class ActiveSiloAnnouncer(
    ILocalSiloDetails silo, SiloEndpoints endpoints, IOptions<ClusterOptions> cluster, ILogger<ActiveSiloAnnouncer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        LogActive(logger, silo.Name, endpoints.HttpAddress, silo.SiloAddress, cluster.Value.ClusterId);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Name} is active: HTTP at {HttpAddress}, Orleans silo {SiloAddress} in cluster {ClusterId}")]
    private static partial void LogActive(ILogger logger, string name, string httpAddress, SiloAddress siloAddress, string clusterId);
}
