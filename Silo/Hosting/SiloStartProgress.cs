namespace Hearth.Silo.Hosting;

/// <summary>
/// Whether the Orleans silo finished starting: set when the last stage of its lifecycle starts, so after every
/// other stage has.
/// </summary>
internal sealed class SiloStartProgress : ILifecycleParticipant<ISiloLifecycle>
{
    private volatile bool _started;

    public bool Started => _started;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SiloStartProgress), ServiceLifecycleStage.Last, _ =>
        {
            _started = true;
            return Task.CompletedTask;
        });
}
