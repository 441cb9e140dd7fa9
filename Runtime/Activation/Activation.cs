using Hearth.Runtime.Processing;

namespace Hearth.Runtime.Activation;

/// <summary>
/// One grain activation: its key, its state and the bookkeeping that decides when the state is written
/// and when the activation may be dropped. Touched only by its partition's turns, except
/// <see cref="PersistedChanges"/> and <see cref="StoredVersion"/>, which the checkpoint sets after a
/// write while no turn of the partition can be taking a snapshot.
/// </summary>
internal sealed class Activation : IGrainContext, IGrainState
{
    private readonly PartitionWorker _worker;
    private long _persistedChanges;

    public Activation(PartitionWorker worker, string key, byte[] keyBytes, object state, long storedVersion)
    {
        _worker = worker;
        Key = key;
        KeyBytes = keyBytes;
        Value = state;
        StoredVersion = storedVersion;
    }

    public string GrainType => _worker.Registration.GrainType;

    public string Key { get; }

    /// <summary>The key as the Kafka message key (UTF-8).</summary>
    public byte[] KeyBytes { get; }

    public IGrainState State => this;

    public TimeProvider TimeProvider => _worker.Services.Time;

    public object Value { get; }

    public bool RecordExists => StoredVersion > 0;

    /// <summary>The grain instance; null once deactivated.</summary>
    public Grain? Grain { get; set; }

    /// <summary>How many times the state was marked changed.</summary>
    public long Changes { get; private set; }

    /// <summary>The value of <see cref="Changes"/> that the stored state reflects.</summary>
    public long PersistedChanges
    {
        get => Volatile.Read(ref _persistedChanges);
        set => Volatile.Write(ref _persistedChanges, value);
    }

    /// <summary>The version of the stored row (0 when none was stored).</summary>
    public long StoredVersion { get; set; }

    public bool IsDirty => Changes != PersistedChanges;

    /// <summary>Whether the activation is in its partition's list of changed activations.</summary>
    public bool InDirtyList { get; set; }

    /// <summary>When the activation last handled a message (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long LastUsed { get; set; }

    public void MarkDirty()
    {
        Changes++;
        if (!InDirtyList)
        {
            InDirtyList = true;
            _worker.OnDirty(this);
        }
    }

    public IOutputStream<T> GetOutputStream<T>(string name) =>
        new OutputStream<T>(this, _worker, _worker.Services.Registry.GetOutput<T>(name), _worker.Services.Topics.GetOutputTopic(name));

    private sealed class OutputStream<T> : IOutputStream<T>
    {
        private readonly Activation _activation;
        private readonly PartitionWorker _worker;
        private readonly IMessageEncoder<T> _encoder;
        private readonly string _topic;

        public OutputStream(Activation activation, PartitionWorker worker, OutputStreamRegistration<T> registration, string topic)
        {
            _activation = activation;
            _worker = worker;
            _encoder = registration.Encoder;
            _topic = topic;
        }

        public ValueTask OnNextAsync(T item)
        {
            _worker.Publish(_topic, _activation.KeyBytes, _encoder.Encode(item));
            return ValueTask.CompletedTask;
        }
    }
}
