using Hearth.Streaming.Kafka.Committing;

namespace Hearth.Tests.Infrastructure;

/// <summary>A fence that always lets the silo commit: for a provider run outside a cluster, where no one takes its partitions over.</summary>
internal sealed class OpenCheckpointFence : IKafkaCheckpointFence
{
    public TimeSpan Lease => TimeSpan.FromSeconds(5);

    public Task<string?> RefusalAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);
}
