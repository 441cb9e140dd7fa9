namespace Hearth.Runtime.Activation;

/// <summary>The outcome of a call to a grain.</summary>
public enum GrainCallStatus
{
    /// <summary>The grain was called; the value is its answer.</summary>
    Found,

    /// <summary>The grain has never been seen (no activation and no stored state); nothing was created.</summary>
    NotFound,

    /// <summary>The grain's partition is not owned by this silo (another silo's, or moving).</summary>
    NotOwnedHere,
}

/// <summary>The outcome of a call to a grain, and the partition the grain's key belongs to.</summary>
public readonly record struct GrainCallResult<T>(GrainCallStatus Status, T? Value, int Partition)
{
    public static GrainCallResult<T> Found(T value, int partition) => new(GrainCallStatus.Found, value, partition);

    public static GrainCallResult<T> NotFound(int partition) => new(GrainCallStatus.NotFound, default, partition);

    public static GrainCallResult<T> NotOwnedHere(int partition) => new(GrainCallStatus.NotOwnedHere, default, partition);
}
