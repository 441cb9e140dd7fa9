namespace Hearth.Silo.Hosting;

/// <summary>
/// How far the Orleans silo got in starting: <see cref="Started"/> once the last stage of its lifecycle starts,
/// after every other stage; <see cref="FailedPartWay"/> if its first stage started and its last did not.
/// </summary>
internal sealed class SiloStartProgress : ILifecycleParticipant<ISiloLifecycle>
{
    private volatile bool _began;
    private volatile bool _started;

    public bool Started => _started;

    /// <summary>Began but not started: the silo's own start failed part-way, and Orleans cannot stop it.</summary>
    public bool FailedPartWay => _began && !_started;

    public void Participate(ISiloLifecycle lifecycle)
    {
        lifecycle.Subscribe(nameof(SiloStartProgress), ServiceLifecycleStage.First, _ =>
        {
            _began = true;
            return Task.CompletedTask;
        });
        lifecycle.Subscribe(nameof(SiloStartProgress), ServiceLifecycleStage.Last, _ =>
        {
            _started = true;
            return Task.CompletedTask;
        });
    }
}
