namespace Hearth.Runtime;

/// <summary>
/// Base class of a grain: a virtual actor addressed by a string key. The runtime activates it on the
/// first message for its key, runs its turns one at a time, and deactivates it after it has been idle.
/// </summary>
public abstract class Grain
{
    protected Grain(IGrainContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        GrainContext = context;
    }

    /// <summary>The key this activation serves.</summary>
    public string GrainKey => GrainContext.Key;

    /// <summary>The runtime's services for this activation.</summary>
    protected IGrainContext GrainContext { get; }

    /// <summary>Called once after the state is loaded and before the first message.</summary>
    public virtual ValueTask OnActivateAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>
    /// Called before the activation is dropped. State written here is still persisted before the
    /// activation's partition is released.
    /// </summary>
    public virtual ValueTask OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        ValueTask.CompletedTask;

    /// <summary>The output stream registered under <paramref name="name"/>; items are keyed by this grain's key.</summary>
    protected IOutputStream<T> GetOutputStream<T>(string name) => GrainContext.GetOutputStream<T>(name);
}

/// <summary>A grain with persistent state of type <typeparamref name="TState"/>.</summary>
public abstract class Grain<TState> : Grain where TState : class, new()
{
    protected Grain(IGrainContext context) : base(context)
    {
    }

    /// <summary>The state, loaded from storage before activation (a new instance when none was stored).</summary>
    protected TState State => (TState)GrainContext.State.Value;

    /// <summary>Whether stored state existed when the grain was activated, or has been written since.</summary>
    protected bool RecordExists => GrainContext.State.RecordExists;

    /// <summary>
    /// Schedules the state for writing. Writes are write-behind: the runtime stores all changed states
    /// together with the input offsets that produced them in one transaction, at the checkpoint
    /// interval and before a partition is released, so an input is never acknowledged before the
    /// state it produced is durable.
    /// </summary>
    protected ValueTask WriteStateAsync()
    {
        GrainContext.State.MarkDirty();
        return ValueTask.CompletedTask;
    }
}
