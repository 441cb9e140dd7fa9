namespace Hearth.Silo.Cluster;

/// <summary>
/// Gives <see cref="ClusterTls"/> its logger as the silo starts, before it listens: Orleans' TLS settings are made
/// while the silo is built, when there are no loggers yet, and a refused peer is worth a line in the log.
/// </summary>
public sealed class ClusterTlsLogging(ClusterTls tls, ILogger<ClusterTls> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe<ClusterTlsLogging>(ServiceLifecycleStage.First, _ =>
        {
            tls.Logger = logger;
            return Task.CompletedTask;
        });
    }
}
