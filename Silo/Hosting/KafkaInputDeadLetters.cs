using Hearth.Grains;
using Hearth.Grains.Interfaces;
using Hearth.Streaming.Kafka.Providers;

namespace Hearth.Silo.Hosting;

/// <summary>Dead-letters thermostat inputs through the Kafka stream provider: the originals, read back from their partition.</summary>
public sealed class KafkaInputDeadLetters(IKafkaDeadLetters kafka) : IInputDeadLetters
{
    public async Task DeadLetterAsync(IReadOnlyList<InputPosition> positions, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(positions);
        foreach (var partition in positions.GroupBy(p => (p.Source, p.Partition)))
        {
            await kafka.DeadLetterAsync(partition.Key.Source, partition.Key.Partition, partition.Select(p => p.Offset).ToList(), reason, cancellationToken)
                .ConfigureAwait(false);
        }
    }
}
