using System.Diagnostics;
using System.Globalization;
using System.Text;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;
using Hearth.Streaming.Kafka.Producing;
using Hearth.Streaming.Kafka.Providers;
using Hearth.Testing;
using Hearth.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Hearth.Tests.Integration;

/// <summary>A whole silo against the embedded broker: input in, commands out.</summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Integration")]
public sealed class SiloEndToEndTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task SettingsThenReadings_ProduceExactlyTheReplaysCommands_InOrderPerThermostat()
    {
        var topics = kafka.CreateTopics(partitions: 4);
        var ids = Enumerable.Range(0, 40).Select(i => $"t-{i}").ToList();
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("silo.db"), output);

        await fleet.PublishSettingsAsync(ids.Select(id => new ThermostatSetting(id, 21, 0.5, 0.5)), silo, Timeout);
        fleet.PublishReadings(Fleet.Swinging(ids, 21, swings: 5));
        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "readings");

        var commands = ReadCommands(topics);
        Assert.Equal(fleet.Replay.Commands.Count, commands.Count);
        Assert.Equal(ids.Count * 6, commands.Count); // On and off in the first swing, one command per swing after.
        var expected = fleet.Replay.CommandsByThermostat();
        foreach (var id in ids)
        {
            Assert.Equal(expected[id], commands.Where(c => c.ThermostatId == id).ToList());
        }

        Assert.Equal(0, silo.Kafka.Partitions().Sum(p => p.DeadLettered));
    }

    [Fact]
    public async Task ThePullingAgents_KeepOneStreamPerPartition_HoweverManyThermostatsTheyDelivered()
    {
        var topics = kafka.CreateTopics(partitions: 3);
        var ids = Enumerable.Range(0, 2_000).Select(i => $"pa-{i}").ToList();
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("agents.db"), output);

        await fleet.PublishSettingsAsync(ids.Select(id => new ThermostatSetting(id, 21, 0.5, 0.5)), silo, Timeout);
        fleet.PublishReadings(Fleet.Swinging(ids, 21, swings: 1));
        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "readings");

        // Every thermostat was delivered to; the agents know one stream each (their partition's), not one per thermostat.
        Assert.Equal(ids.Count, (int)silo.Metrics.Activations);
        var streams = PullingAgents.StreamsPerQueue(silo.Services);
        Assert.Equal(2 * topics.Partitions, streams.Count);
        Assert.All(streams, queue => Assert.Equal(1, queue.Value));
    }

    [Fact]
    public async Task AReadingThatOnlyRefreshesTheMeasurement_IsWrittenBehind_EachTime_WhileTheControllerStaysActive()
    {
        var topics = kafka.CreateTopics(partitions: 1);
        var database = _directory.File("behind.db");
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, database, output,
            new Dictionary<string, string?> { ["Grains:WriteBehindInterval"] = "00:00:00.500", ["Grains:IdleTimeout"] = "01:00:00" });
        await fleet.PublishSettingsAsync([new ThermostatSetting("wb-1", 21, 0.5, 0.5)], silo, Timeout);

        // Below the band: a command, written at once; then within it: no command, only the measurement.
        fleet.PublishReadings([new ThermostatReading("wb-1", 20.0, Fleet.Clock)]);
        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "the reading that commands");
        foreach (var (temperature, minute) in new[] { (20.7, 1), (20.8, 2) })
        {
            fleet.PublishReadings([new ThermostatReading("wb-1", temperature, Fleet.Clock.AddMinutes(minute))]);
            await Poll.UntilAsync(
                async () => (await StoredStates.ThermostatInSqliteAsync(database, "wb-1"))?.LastMeasurement == temperature,
                Timeout, $"{temperature} written behind");
        }

        Assert.Equal(1, silo.Metrics.Activations);
        Assert.Equal(1, silo.Metrics.Totals.Commands);
    }

    [Fact]
    public async Task Restart_OnTheSameDatabase_KeepsState_AndAppliesNothingTwice()
    {
        var topics = kafka.CreateTopics(partitions: 3);
        var ids = Enumerable.Range(0, 30).Select(i => $"r-{i}").ToList();
        var database = _directory.File("restart.db");
        using var fleet = new Fleet(kafka, topics);

        await using (var first = await TestSilo.StartAsync(kafka.BootstrapServers, topics, database, output, name: "first"))
        {
            await fleet.PublishSettingsAsync(ids.Select((id, i) => new ThermostatSetting(id, 20 + (i % 3), 0.5, 1)), first, Timeout);
            fleet.PublishReadings(Fleet.Swinging(ids, 21, swings: 3));
            await first.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "first batch");
        }

        Assert.Equal(fleet.Replay.Commands.Count, ReadCommands(topics).Count);

        await using var second = await TestSilo.StartAsync(kafka.BootstrapServers, topics, database, output, name: "second");
        fleet.PublishReadings(Fleet.Swinging(ids, 21, swings: 2).Select(r => r with { Timestamp = r.Timestamp.AddHours(1) }));
        await second.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "second batch");

        // Every command exactly once: the restarted silo resumed where the first stopped, with its state.
        var commands = ReadCommands(topics);
        Assert.Equal(fleet.Replay.Commands.OrderBy(c => c.ThermostatId).ThenBy(c => c.Seq), commands.OrderBy(c => c.ThermostatId).ThenBy(c => c.Seq));
        // The second silo applied the second batch only: whatever of the first it was given again, it skipped.
        Assert.Equal(ids.Count * 2 * 6, second.Metrics.Totals.Readings);

        await second.StopAsync();
        foreach (var id in ids)
        {
            var state = await StoredStates.ThermostatInSqliteAsync(database, id);
            Assert.NotNull(state);
            var expected = fleet.Replay.StateOf(id);
            Assert.Equal((expected.Temperature, expected.Heater, expected.Seq, expected.LastMeasurement),
                (state.Temperature, state.Heater, state.Seq, state.LastMeasurement));
        }
    }

    [Fact]
    public async Task PoisonMessages_GoToTheDeadLetterTopic_AndProcessingGoesOn()
    {
        var topics = kafka.CreateTopics(partitions: 2);
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("poison.db"), output);
        await fleet.PublishSettingsAsync([new ThermostatSetting("p-1", 21, 0.5, 0.5)], silo, Timeout);

        var poison = new (string? Key, string? Value, string Reason)[]
        {
            ("p-1", "{not json", "invalid JSON"),
            (null, """{"measurement":10}""", "no key"),
            ("p-1", """{"measurement":"cold"}""", "must be a number"),
            ("p-1", """{"measurement":1e999}""", "finite"),
            ("p-1", """{"temperature":21,"upDelta":-1,"downDelta":1}""", "must not be negative"),
            ("p-1", """{"temperature":1e300,"upDelta":1,"downDelta":1}""", "setting out of range: temperature must be between -50 and 100"),
            // Keys that cannot be a thermostat id.
            (new string('k', ThermostatKeys.MaxLength + 1), """{"measurement":10}""", $"at most {ThermostatKeys.MaxLength}"),
            ("p-\0", """{"measurement":10}""", "control characters"),
        };
        foreach (var (key, value, _) in poison)
        {
            fleet.PublishRaw(topics.Readings, key, value is null ? null : Encoding.UTF8.GetBytes(value));
        }

        fleet.PublishReadings([new ThermostatReading("p-1", 18, Fleet.Clock)]);
        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "poison and reading");

        var command = Assert.Single(ReadCommands(topics));
        Assert.Equal(new HeaterCommand("p-1", HeaterAction.On, 18, 21, 1, Fleet.Clock), command);

        var deadLetters = TopicReader.ReadAll(kafka.BootstrapServers, topics.DeadLetter, Timeout);
        Assert.Equal(poison.Length, deadLetters.Count);
        var readings = TopicReader.ReadAll(kafka.BootstrapServers, topics.Readings, Timeout);
        foreach (var (key, value, reason) in poison)
        {
            var letter = Assert.Single(deadLetters, d => d.Message.Key == key && Encoding.UTF8.GetString(d.Message.Value ?? []) == (value ?? ""));
            Assert.Contains(reason, KafkaDeadLetterHeaders.GetText(letter.Message.Headers, KafkaDeadLetterHeaders.Error), StringComparison.Ordinal);
            Assert.Equal(topics.Readings, KafkaDeadLetterHeaders.GetText(letter.Message.Headers, KafkaDeadLetterHeaders.SourceTopic));
            var original = readings.Single(r => r.Message.Key == key && Encoding.UTF8.GetString(r.Message.Value ?? []) == (value ?? ""));
            Assert.Equal(original.Partition.Value.ToString(CultureInfo.InvariantCulture),
                KafkaDeadLetterHeaders.GetText(letter.Message.Headers, KafkaDeadLetterHeaders.SourcePartition));
            Assert.Equal(original.Offset.Value.ToString(CultureInfo.InvariantCulture),
                KafkaDeadLetterHeaders.GetText(letter.Message.Headers, KafkaDeadLetterHeaders.SourceOffset));
        }
    }

    [Fact]
    public async Task MessageProducedByKcat_WithItsOwnPartitioner_ReachesTheRightGrain()
    {
        var kcat = Kcat.Path ?? throw new InvalidOperationException("kcat is not installed; ./test.sh installs it (apt-get install kcat).");
        const int partitions = 8;
        var topics = kafka.CreateTopics(partitions);
        // A key that kcat's default partitioner (consistent_random: CRC32) puts on another partition than murmur2.
        var id = Enumerable.Range(0, 1000).Select(i => $"k-{i}")
            .First(k => Kcat.Crc32Partition(k, partitions) != KafkaPartitioner.Partition(Encoding.UTF8.GetBytes(k), partitions));
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("kcat.db"), output);
        await fleet.PublishSettingsAsync([new ThermostatSetting(id, 21, 0.5, 0.5)], silo, Timeout);

        await Kcat.ProduceAsync(kcat, kafka.BootstrapServers, topics.Readings, id, """{"measurement":25.5,"timestamp":"2026-11-20T08:00:00Z"}""");
        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "kcat's reading");

        // Delivered by key from the partition it landed on: no copy, no forwarding.
        var reading = Assert.Single(TopicReader.ReadAll(kafka.BootstrapServers, topics.Readings, Timeout));
        Assert.Equal(Kcat.Crc32Partition(id, partitions), reading.Partition.Value);
        var command = Assert.Single(ReadCommands(topics));
        Assert.Equal((id, HeaterAction.Off, 25.5, 1L), (command.ThermostatId, command.Action, command.Measurement, command.Seq));
        Assert.Equal(1, silo.Metrics.Totals.Readings);
    }

    [Fact]
    public async Task SharedInputTopic_ReadingsAndSettingsToldApartByTheirFields()
    {
        var topics = kafka.CreateTopics(partitions: 2, sharedInputTopic: true);
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("shared.db"), output);

        // The original Python examples' formats, in one topic, in order: setting, then readings.
        fleet.PublishRaw(topics.Readings, "s-1", """{"temperature":45,"up_delta":1,"down_delta":1}"""u8.ToArray());
        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "the setting");
        fleet.PublishRaw(topics.Readings, "s-1", """{"measurement":40.0}"""u8.ToArray());
        fleet.PublishRaw(topics.Readings, "s-1", """{"measurement":45.0}"""u8.ToArray());
        fleet.PublishRaw(topics.Readings, "s-1", """{"measurement":46.5}"""u8.ToArray());
        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "shared topic");

        var commands = ReadCommands(topics);
        Assert.Equal([(HeaterAction.On, 40.0, 1L), (HeaterAction.Off, 46.5, 2L)], commands.Select(c => (c.Action, c.Measurement, c.Seq)));
        Assert.All(commands, c => Assert.Equal(45, c.Setpoint));
    }

    [Fact]
    public async Task SharedInputTopic_SettingsAndReadingsApplyInPartitionOrder_WithoutWaitingBetween()
    {
        var topics = kafka.CreateTopics(partitions: 2, sharedInputTopic: true);
        var ids = Enumerable.Range(0, 30).Select(i => $"o-{i}").ToList();
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("order.db"), output);

        // A setting, readings across its band, a new setting below them all, readings again: applied out of order,
        // the first readings would command nothing, or the last ones against the old setpoint.
        var inputs = new List<ThermostatMessage>();
        inputs.AddRange(ids.Select(id => new ThermostatSetting(id, 21, 0.5, 0.5)));
        inputs.AddRange(Fleet.Swinging(ids, 21, swings: 2));
        inputs.AddRange(ids.Select(id => new ThermostatSetting(id, 15, 0.5, 0.5)));
        inputs.AddRange(Fleet.Swinging(ids, 21, swings: 2));
        fleet.PublishInOrder(inputs);
        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "shared topic");

        var commands = ReadCommands(topics);
        var expected = fleet.Replay.CommandsByThermostat();
        Assert.Equal(fleet.Replay.Commands.Count, commands.Count);
        foreach (var id in ids)
        {
            Assert.Equal(expected[id], commands.Where(c => c.ThermostatId == id).ToList());
            Assert.Contains(commands, c => c.ThermostatId == id && c.Setpoint == 15 && c.Action == HeaterAction.Off);
        }
    }

    [Fact]
    public async Task InputTopicsWithDifferentPartitionCounts_AreEachReadPartitionByPartition()
    {
        var three = kafka.CreateTopics(3);
        var five = kafka.CreateTopics(5);
        var topics = three with { Settings = five.Settings };
        var ids = Enumerable.Range(0, 25).Select(i => $"d-{i}").ToList();
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics with { Partitions = 4 }, _directory.File("counts.db"), output);

        await fleet.PublishSettingsAsync(ids.Select(id => new ThermostatSetting(id, 21, 0.5, 0.5)), silo, Timeout);
        fleet.PublishReadings(Fleet.Swinging(ids, 21, swings: 2));
        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "readings");

        Assert.Equal(3 + 5, silo.Kafka.Partitions().Count);
        Assert.Equal(fleet.Replay.Commands.OrderBy(c => c.ThermostatId).ThenBy(c => c.Seq), ReadCommands(topics).OrderBy(c => c.ThermostatId).ThenBy(c => c.Seq));
    }

    [Fact]
    public async Task ATinyCache_PausesReading_WithoutLosingOrRepeatingAMessage()
    {
        var topics = kafka.CreateTopics(partitions: 2);
        var ids = Enumerable.Range(0, 50).Select(i => $"b-{i}").ToList();
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("backpressure.db"), output,
            new Dictionary<string, string?> { ["Kafka:CacheSize"] = "10", ["Kafka:MaxBatchSize"] = "5" });
        await fleet.PublishSettingsAsync(ids.Select(id => new ThermostatSetting(id, 21, 0.5, 0.5)), silo, Timeout);

        var readings = Fleet.Swinging(ids, 21, swings: 4).ToList();
        fleet.PublishReadings(readings);
        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "readings");

        Assert.Equal(readings.Count, silo.Metrics.Totals.Readings);
        Assert.Equal(
            fleet.Replay.Commands.OrderBy(c => c.ThermostatId).ThenBy(c => c.Seq),
            ReadCommands(topics).OrderBy(c => c.ThermostatId).ThenBy(c => c.Seq));
    }

    [Fact]
    public async Task IdleGrains_AreWrittenAndCollected_ThenReactivateFromStorage()
    {
        var topics = kafka.CreateTopics(partitions: 2);
        var ids = Enumerable.Range(0, 20).Select(i => $"i-{i}").ToList();
        var database = _directory.File("idle.db");
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, database, output,
            new Dictionary<string, string?> { ["Grains:IdleTimeout"] = "00:00:02" });
        await fleet.PublishSettingsAsync(ids.Select(id => new ThermostatSetting(id, 21, 0.5, 0.5)), silo, Timeout);
        fleet.PublishReadings(ids.Select(id => new ThermostatReading(id, 18, Fleet.Clock)));
        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "first readings");

        await Poll.UntilAsync(() => Task.FromResult(silo.Metrics.Activations == 0), Timeout, "every controller collected after 2 s idle",
            () => Task.FromResult($"{silo.Metrics.Activations} active"));
        Assert.All(ids, id => Assert.Equal(HeaterAction.On, StoredStates.ThermostatInSqliteAsync(database, id).Result!.Heater));

        // Reactivated from storage: the heater is on and seq is 1, so 30 degrees turns it off with seq 2.
        fleet.PublishReadings(ids.Select(id => new ThermostatReading(id, 30, Fleet.Clock.AddMinutes(1))));
        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "readings after collection");

        var commands = ReadCommands(topics);
        Assert.Equal(fleet.Replay.Commands.OrderBy(c => c.ThermostatId).ThenBy(c => c.Seq), commands.OrderBy(c => c.ThermostatId).ThenBy(c => c.Seq));
        Assert.All(ids, id => Assert.Equal([1L, 2L], commands.Where(c => c.ThermostatId == id).Select(c => c.Seq)));
    }

    public void Dispose() => _directory.Dispose();

    private List<HeaterCommand> ReadCommands(TestTopics topics) =>
        TopicReader.ReadAll(kafka.BootstrapServers, topics.Commands, Timeout)
            .Select(r => ThermostatJson.DecodeCommand(r.Message.Value).Value ?? throw new InvalidOperationException("undecodable command"))
            .ToList();
}

/// <summary>Drives the kcat command-line client.</summary>
internal static class Kcat
{
    public static string? Path => new[] { "/usr/bin/kcat", "/usr/local/bin/kcat" }.FirstOrDefault(File.Exists);

    /// <summary>kcat's (librdkafka's) default partitioner for keyed messages: CRC32 of the key.</summary>
    public static int Crc32Partition(string key, int partitions) => (int)(Crc32(Encoding.UTF8.GetBytes(key)) % (uint)partitions);

    public static async Task ProduceAsync(string kcat, string bootstrap, string topic, string key, string value)
    {
        var start = new ProcessStartInfo(kcat, ["-P", "-b", bootstrap, "-t", topic, "-K", "\t"])
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("kcat did not start");
        await process.StandardInput.WriteLineAsync($"{key}\t{value}");
        process.StandardInput.Close();
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 0, $"kcat failed ({process.ExitCode}): {errors}");
    }

    private static uint Crc32(byte[] data)
    {
        var crc = 0xffffffffu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var i = 0; i < 8; i++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
            }
        }

        return ~crc;
    }
}
