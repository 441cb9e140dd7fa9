using Hearth.Grains.Interfaces;
using Orleans.Concurrency;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace Hearth.Grains;

/// <summary>The dispatcher of a partition's inputs; nothing calls it but the stream provider's pulling agent.</summary>
[Alias("hearth.IThermostatDispatcherGrain")]
public interface IThermostatDispatcherGrain : IGrainWithStringKey;

/// <summary>
/// Subscribes (implicitly) to every partition stream of the thermostat inputs and hands each delivery to the
/// silo's <see cref="ThermostatDispatcher"/>. A stateless worker: Orleans runs it on the silo whose pulling agent
/// delivers (the silo that reads the partition), never across silos, and keeps no directory entry for it.
/// </summary>
/// <remarks>
/// A partition's batches reach it one after another (the agent awaits each delivery); batches of different
/// partitions are dispatched concurrently, here and on the other local workers. It keeps no state of its own.
/// </remarks>
[StatelessWorker]
[Reentrant]
[ImplicitStreamSubscription(ThermostatStreams.Readings)]
[ImplicitStreamSubscription(ThermostatStreams.Settings)]
public sealed class ThermostatDispatcherGrain(ThermostatDispatcher dispatcher) : Grain, IThermostatDispatcherGrain, IStreamSubscriptionObserver
{
    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory)
    {
        ArgumentNullException.ThrowIfNull(handleFactory);
        var silo = RuntimeIdentity;
        await handleFactory.Create<ThermostatInput>().ResumeAsync(items => dispatcher.DispatchAsync(Inputs(items), silo));
    }

    private static ThermostatInput[] Inputs(IList<SequentialItem<ThermostatInput>> items)
    {
        var inputs = new ThermostatInput[items.Count];
        for (var i = 0; i < inputs.Length; i++)
        {
            inputs[i] = items[i].Item;
        }

        return inputs;
    }
}
