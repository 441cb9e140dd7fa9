using Hearth.Grains;
using Hearth.Grains.Interfaces.Codecs;

namespace Hearth.Tests.Infrastructure;

/// <summary>What "nothing lost, nothing applied twice" means for a test's input, checked against its in-memory replay.</summary>
public static class ReplayAssertions
{
    /// <summary>Every thermostat's stored state is the one the replay of the same input produces.</summary>
    public static async Task StatesMatchAsync(ControllerReplay replay, IEnumerable<string> ids, Func<string, Task<ThermostatState?>> stored)
    {
        foreach (var id in ids)
        {
            var state = await stored(id);
            Assert.NotNull(state);
            var expected = replay.StateOf(id);
            Assert.Equal(
                (id, expected.Temperature, expected.Heater, expected.Seq, expected.LastMeasurement, expected.LastReadingAt),
                (id, state.Temperature, state.Heater, state.Seq, state.LastMeasurement, state.LastReadingAt));
        }
    }

    /// <summary>
    /// The commands published (at least once): per thermostat no seq gap, duplicates identical, and after
    /// de-duplication exactly the replay's. Returns how many were duplicates.
    /// </summary>
    public static int CommandsMatch(ControllerReplay replay, IEnumerable<string> ids, string bootstrapServers, string commandsTopic, TimeSpan timeout)
    {
        var commands = TopicReader.ReadAll(bootstrapServers, commandsTopic, timeout)
            .Select(r => ThermostatJson.DecodeCommand(r.Message.Value).Value ?? throw new InvalidOperationException("undecodable command"))
            .ToList();
        var expected = replay.CommandsByThermostat();
        foreach (var id in ids)
        {
            var mine = commands.Where(c => c.ThermostatId == id).ToList();
            foreach (var duplicates in mine.GroupBy(c => c.Seq).Where(g => g.Count() > 1))
            {
                Assert.All(duplicates, d => Assert.Equal(duplicates.First(), d));
            }

            var deduplicated = mine.DistinctBy(c => c.Seq).OrderBy(c => c.Seq).ToList();
            Assert.Equal(Enumerable.Range(1, deduplicated.Count).Select(i => (long)i), deduplicated.Select(c => c.Seq));
            Assert.Equal(expected.GetValueOrDefault(id) ?? [], deduplicated);
        }

        return commands.Count - replay.Commands.Count;
    }
}
