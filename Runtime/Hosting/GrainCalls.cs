using System.Text;
using Hearth.Runtime.Activation;
using Hearth.Runtime.Partitioning;
using Hearth.Runtime.Processing;
using Hearth.Runtime.Storage;

namespace Hearth.Runtime.Hosting;

/// <summary>
/// Calls grains hosted by this silo (the local part of Orleans' grain factory). A grain lives on the silo
/// that owns its key's partition; for any other key the answer is <see cref="GrainCallStatus.NotOwnedHere"/>
/// and the caller asks the owner (the HTTP API forwards the request).
/// </summary>
public sealed class GrainCalls
{
    private readonly PartitionManager _partitions;
    private readonly TopicLayout _layout;
    private readonly ICheckpointStore _store;
    private readonly GrainRegistry _registry;

    internal GrainCalls(PartitionManager partitions, TopicLayout layout, ICheckpointStore store, GrainRegistry registry)
    {
        _partitions = partitions;
        _layout = layout;
        _store = store;
        _registry = registry;
    }

    /// <summary>Whether the runtime knows the partition layout yet (it reads it from Kafka at start).</summary>
    public bool IsReady => _layout.IsKnown;

    /// <summary>The partition of a key.</summary>
    /// <exception cref="InvalidOperationException">The runtime has not started yet.</exception>
    public int PartitionOf(string key) =>
        KafkaPartitioner.Partition(Encoding.UTF8.GetBytes(key), _layout.PartitionCount);

    /// <summary>Calls the grain of <paramref name="key"/> if this silo owns it, in a turn of its own.</summary>
    public async Task<GrainCallResult<T>> InvokeAsync<TGrainInterface, T>(string key, Func<TGrainInterface, Task<T>> call)
        where TGrainInterface : class
    {
        var partition = PartitionOf(key);
        return _partitions.TryGetWorker(partition, out var worker)
            ? await worker.CallAsync(key, call).ConfigureAwait(false)
            : GrainCallResult<T>.NotOwnedHere(partition);
    }

    /// <summary>The grain's state as last checkpointed, whoever owns it, or null if none was stored.</summary>
    public async Task<TState?> ReadStoredStateAsync<TState>(string key, CancellationToken cancellationToken)
        where TState : class
    {
        var grain = _registry.StreamGrain ?? throw new InvalidOperationException("No stream grain is registered.");
        var stored = await _store.ReadGrainStateAsync(grain.GrainType, key, cancellationToken).ConfigureAwait(false);
        return stored is null ? null : (TState)grain.DeserializeState(stored.Json);
    }
}
