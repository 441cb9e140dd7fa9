using System.Text.Json.Serialization.Metadata;

namespace Hearth.Runtime;

/// <summary>Registers grain types and streams with the grain runtime.</summary>
public interface IGrainRuntimeBuilder
{
    /// <summary>
    /// Registers the grain type that receives the input streams: every message of the input topics is
    /// decoded by <paramref name="decoder"/> and delivered to the activation of
    /// <typeparamref name="TGrain"/> whose key is the message key.
    /// </summary>
    /// <param name="grainType">A stable name, stored with the grain's state.</param>
    /// <param name="stateJson">How the state is stored (System.Text.Json metadata).</param>
    IGrainRuntimeBuilder AddStreamGrain<TGrain, TState, TMessage>(
        string grainType, JsonTypeInfo<TState> stateJson, IMessageDecoder<TMessage> decoder)
        where TGrain : Grain<TState>, IStreamSubscriber<TMessage>
        where TState : class, new()
        where TMessage : class;

    /// <summary>Registers an output stream that grains obtain with <see cref="Grain.GetOutputStream{T}"/>.</summary>
    /// <param name="name">The stream's name; the runtime maps it to a topic.</param>
    IGrainRuntimeBuilder AddOutputStream<T>(string name, IMessageEncoder<T> encoder);
}
