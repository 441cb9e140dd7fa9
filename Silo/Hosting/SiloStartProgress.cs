namespace Hearth.Silo.Hosting;

/// <summary>
/// How far the Orleans silo got in starting: <see cref="Began"/> once the first stage of its lifecycle starts,
/// <see cref="Started"/> once the last does, after every other stage.
/// </summary>
internal sealed class SiloStartProgress : ILifecycleParticipant<ISiloLifecycle>
{
    private volatile bool _began;
    private volatile bool _started;

    public bool Began => _began;

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
