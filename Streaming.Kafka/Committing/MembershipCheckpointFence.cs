using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Hearth.Streaming.Kafka.Committing;

/// <summary>
/// Asks Orleans' membership table, not the silo's cached view of it, whether the silo is still a member of its
/// cluster: a silo the table lists as dead (or no longer lists) commits nothing. Its cached view is what it would
/// still believe right after waking from a stall, before it reads the table and stops.
/// </summary>
/// <remarks>
/// The lease is half the quickest death declaration Orleans can make: <see cref="ClusterMembershipOptions.NumMissedProbesLimit"/>
/// missed probes, each at least <see cref="ClusterMembershipOptions.MinProbeTimeout"/> long. One read of one row per
/// round of commits (<see cref="Hosting.KafkaStreamOptions.CommitIntervalMs"/>), whatever the number of partitions.
/// </remarks>
public sealed class MembershipCheckpointFence(IMembershipTable table, ILocalSiloDetails silo, IOptions<ClusterMembershipOptions> options)
    : IKafkaCheckpointFence
{
    public TimeSpan Lease { get; } = options.Value.MinProbeTimeout * options.Value.NumMissedProbesLimit / 2;

    public async Task<string?> RefusalAsync(CancellationToken cancellationToken)
    {
        var row = await table.ReadRowAsync(silo.SiloAddress, cancellationToken).ConfigureAwait(false);
        return row.TryGet(silo.SiloAddress)?.Item1 switch
        {
            null => "the cluster's membership table does not list this silo",
            { Status: SiloStatus.Dead } => "the cluster declared this silo dead; the partitions' new owners commit their checkpoints",
            _ => null,
        };
    }
}
