using System.Collections;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Streams;

namespace Hearth.Tests.Infrastructure;

/// <summary>
/// What Orleans' pulling agents on a silo remember, read from their private state: Orleans exposes no count of the
/// streams an agent keeps a record of. The agents are system targets in the silo's activation directory. The type and
/// field names are Orleans 10.4's; if a later Orleans renames them, this fails saying which one it could not find.
/// </summary>
public static class PullingAgents
{
    /// <summary>For each queue the silo pulls (any stream provider), how many streams its agent keeps a record of (its pub/sub cache).</summary>
    public static IReadOnlyDictionary<QueueId, int> StreamsPerQueue(IServiceProvider silo)
    {
        var directoryType = typeof(Orleans.Runtime.Silo).Assembly.GetType("Orleans.Runtime.ActivationDirectory")
            ?? throw new InvalidOperationException("Orleans has no Orleans.Runtime.ActivationDirectory any more: update PullingAgents for this Orleans version.");
        var directory = (IEnumerable)silo.GetRequiredService(directoryType);
        var counts = new Dictionary<QueueId, int>();
        foreach (var entry in directory)
        {
            var context = entry.GetType().GetProperty("Value")!.GetValue(entry)!;
            if (context.GetType().Name == "PersistentStreamPullingAgent")
            {
                counts[(QueueId)Field(context, "QueueId")] = ((ICollection)Field(context, "pubSubCache")).Count;
            }
        }

        return counts;
    }

    private static object Field(object owner, string name)
    {
        for (var type = owner.GetType(); type is not null; type = type.BaseType)
        {
            if (type.GetField(name, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public) is { } field)
            {
                return field.GetValue(owner) ?? throw new InvalidOperationException($"{owner.GetType().Name}.{name} is null.");
            }

            if (type.GetProperty(name, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public) is { } property)
            {
                return property.GetValue(owner) ?? throw new InvalidOperationException($"{owner.GetType().Name}.{name} is null.");
            }
        }

        throw new InvalidOperationException($"Orleans' {owner.GetType().FullName} has no '{name}' any more: update PullingAgents for this Orleans version.");
    }
}
