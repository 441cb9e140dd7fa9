namespace Hearth.Runtime.Processing;

/// <summary>The partition counts of the input topics, read from the cluster at start.</summary>
internal sealed class TopicLayout
{
    private Dictionary<string, int>? _partitions;

    public bool IsKnown => _partitions is not null;

    public IReadOnlyDictionary<string, int> Partitions =>
        _partitions ?? throw new InvalidOperationException("The topic layout has not been read yet.");

    public int PartitionCount(string topic) =>
        Partitions.TryGetValue(topic, out var count)
            ? count
            : throw new ArgumentException($"Topic '{topic}' is not an input topic.", nameof(topic));

    public void Set(IReadOnlyDictionary<string, int> partitions) =>
        _partitions = new Dictionary<string, int>(partitions, StringComparer.Ordinal);
}
