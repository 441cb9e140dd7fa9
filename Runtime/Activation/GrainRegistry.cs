using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.DependencyInjection;

namespace Hearth.Runtime.Activation;

/// <summary>The grain type that receives the input streams, with everything needed to host it.</summary>
internal abstract class StreamGrainRegistration
{
    protected StreamGrainRegistration(string grainType) => GrainType = grainType;

    public string GrainType { get; }

    public abstract bool TryDecode(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, DateTimeOffset timestamp,
        out object? message, out string? error);

    public abstract Grain CreateGrain(IServiceProvider services, IGrainContext context);

    public abstract ValueTask DeliverAsync(Grain grain, object message, StreamPosition position);

    public abstract object CreateState();

    public abstract object DeserializeState(string json);

    public abstract string SerializeState(object state);
}

internal sealed class StreamGrainRegistration<TGrain, TState, TMessage> : StreamGrainRegistration
    where TGrain : Grain<TState>, IStreamSubscriber<TMessage>
    where TState : class, new()
    where TMessage : class
{
    private readonly JsonTypeInfo<TState> _stateJson;
    private readonly IMessageDecoder<TMessage> _decoder;
    private readonly ObjectFactory<TGrain> _factory = ActivatorUtilities.CreateFactory<TGrain>([typeof(IGrainContext)]);

    public StreamGrainRegistration(string grainType, JsonTypeInfo<TState> stateJson, IMessageDecoder<TMessage> decoder)
        : base(grainType)
    {
        _stateJson = stateJson;
        _decoder = decoder;
    }

    public override bool TryDecode(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, DateTimeOffset timestamp,
        out object? message, out string? error)
    {
        var ok = _decoder.TryDecode(key, value, timestamp, out var item, out error);
        message = item;
        return ok && item is not null;
    }

    public override Grain CreateGrain(IServiceProvider services, IGrainContext context) => _factory(services, [context]);

    public override ValueTask DeliverAsync(Grain grain, object message, StreamPosition position) =>
        ((TGrain)grain).OnNextAsync((TMessage)message, position);

    public override object CreateState() => new TState();

    public override object DeserializeState(string json) =>
        JsonSerializer.Deserialize(json, _stateJson) ?? new TState();

    public override string SerializeState(object state) => JsonSerializer.Serialize((TState)state, _stateJson);
}

/// <summary>An output stream: a name grains use, a topic, and an encoder.</summary>
internal abstract class OutputStreamRegistration
{
    protected OutputStreamRegistration(string name) => Name = name;

    public string Name { get; }
}

internal sealed class OutputStreamRegistration<T> : OutputStreamRegistration
{
    public OutputStreamRegistration(string name, IMessageEncoder<T> encoder) : base(name) => Encoder = encoder;

    public IMessageEncoder<T> Encoder { get; }
}

/// <summary>What was registered through <see cref="IGrainRuntimeBuilder"/>.</summary>
internal sealed class GrainRegistry
{
    private readonly Dictionary<string, OutputStreamRegistration> _outputs = new(StringComparer.Ordinal);

    public StreamGrainRegistration? StreamGrain { get; private set; }

    public void SetStreamGrain(StreamGrainRegistration registration)
    {
        if (StreamGrain is not null)
        {
            throw new InvalidOperationException(
                $"A stream grain is already registered ('{StreamGrain.GrainType}'); the input topics feed one grain type.");
        }

        StreamGrain = registration;
    }

    public void AddOutput(OutputStreamRegistration registration)
    {
        if (!_outputs.TryAdd(registration.Name, registration))
        {
            throw new InvalidOperationException($"Output stream '{registration.Name}' is already registered.");
        }
    }

    public OutputStreamRegistration<T> GetOutput<T>(string name) =>
        _outputs.TryGetValue(name, out var registration) && registration is OutputStreamRegistration<T> typed
            ? typed
            : throw new ArgumentException(
                $"No output stream '{name}' of {typeof(T).Name} is registered.", nameof(name));
}
