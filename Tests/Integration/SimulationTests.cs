using Hearth.Client;
using Hearth.Client.Simulation;
using Hearth.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Hearth.Tests.Integration;

[Collection(KafkaCollection.Name)]
[Trait("Category", "Integration")]
public sealed class SimulationTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task ClosedLoopFleet_StaysWithinOneDegreeOfItsBand_AfterWarmup()
    {
        var topics = kafka.CreateTopics(partitions: 4);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("sim.db"), output);
        var options = new SimulationOptions
        {
            Thermostats = 200,
            Rate = 400,
            Duration = TimeSpan.FromSeconds(22),
            Warmup = TimeSpan.FromSeconds(10),
            TimeScale = 60,
            // Rooms warm a degree in 4 simulated minutes (4 s here) and cool one in 8: the room physics runs on
            // the wall clock, so a stall of this whole test process (the silo runs in it; Orleans has reported
            // the thread pool stalled for a second on a busy CI machine) lets rooms drift uncontrolled while it
            // lasts. At this pace a second's stall moves a room a quarter of a degree, not half of one.
            HeatMinutes = 4,
            CoolMinutes = 8,
            InitialSpread = 2,
            ReportEvery = TimeSpan.FromMilliseconds(500),
        };
        var simulator = new FleetSimulator(new KafkaEndpoint(kafka.BootstrapServers, topics.Readings, topics.Settings, topics.Commands), options);

        var summary = await simulator.RunAsync(new Progress<FleetProgress>(p => output.WriteLine(ClientApp.Format(p))), CancellationToken.None);
        output.WriteLine(ClientApp.Format(summary));

        Assert.True(summary.Samples >= 10, $"only {summary.Samples} samples after warm-up");
        Assert.True(summary.MinWithinOneDegree >= 0.95,
            $"after warm-up, as few as {summary.MinWithinOneDegree:P1} of thermostats were within one degree of their band");
        Assert.True(summary.Commands > options.Thermostats, "the fleet must have been controlled by commands");
    }

    public void Dispose() => _directory.Dispose();
}
