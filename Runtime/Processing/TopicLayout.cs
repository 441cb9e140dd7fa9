namespace Hearth.Runtime.Processing;

/// <summary>
/// The partition count of the input topics (readings and settings are co-partitioned: the runtime refuses to
/// start unless their counts are equal), read from the cluster at start.
/// </summary>
internal sealed class TopicLayout
{
    private int _partitionCount;

    public bool IsKnown => Volatile.Read(ref _partitionCount) > 0;

    public int PartitionCount =>
        Volatile.Read(ref _partitionCount) is > 0 and var count
            ? count
            : throw new InvalidOperationException("The topic layout has not been read yet.");

    public void Set(int partitionCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(partitionCount);
        Volatile.Write(ref _partitionCount, partitionCount);
    }
}
