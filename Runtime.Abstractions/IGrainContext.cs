namespace Hearth.Runtime;

/// <summary>What the runtime provides to one grain activation.</summary>
public interface IGrainContext
{
    /// <summary>The registered name of the grain type.</summary>
    string GrainType { get; }

    /// <summary>The grain's key.</summary>
    string Key { get; }

    /// <summary>The persistent state of the activation.</summary>
    IGrainState State { get; }

    /// <summary>The runtime's clock.</summary>
    TimeProvider TimeProvider { get; }

    /// <summary>An output stream registered with the runtime under <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No output stream of that name and item type is registered.</exception>
    IOutputStream<T> GetOutputStream<T>(string name);
}

/// <summary>The persistent state of one activation.</summary>
public interface IGrainState
{
    /// <summary>The state object.</summary>
    object Value { get; }

    /// <summary>Whether the state was loaded from storage or has been written since activation.</summary>
    bool RecordExists { get; }

    /// <summary>Marks the state changed, to be written at the next checkpoint.</summary>
    void MarkDirty();
}
