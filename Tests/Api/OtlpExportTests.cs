using System.Text;
using Hearth.Grains.Interfaces;
using Hearth.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Hearth.Tests.Api;

[Collection(KafkaCollection.Name)]
[Trait("Category", "Integration")]
public sealed class OtlpExportTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task WithAnOtlpEndpoint_TheSiloPostsItsMetricsThere()
    {
        // A stand-in collector: it records what arrives at the OTLP/HTTP metrics path.
        var received = new TaskCompletionSource<(string ContentType, byte[] Body)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var collector = builder.Build();
        collector.MapPost("/v1/metrics", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            var bytes = body.ToArray();
            // The first export may come before any reading; wait for one that carries the thermostat counters.
            if (Encoding.UTF8.GetString(bytes).Contains("hearth.thermostat.readings", StringComparison.Ordinal))
            {
                received.TrySetResult((request.ContentType ?? "", bytes));
            }

            return Results.Ok();
        });
        await collector.StartAsync();
        var address = collector.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        var topics = kafka.CreateTopics(partitions: 2);
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("otlp.db"), output,
            new Dictionary<string, string?>
            {
                ["Telemetry:OtlpEndpoint"] = address,
                ["Telemetry:OtlpProtocol"] = "http/protobuf",
                ["Telemetry:ExportInterval"] = "00:00:01",
            });

        await fleet.PublishSettingsAsync([new ThermostatSetting("o-1", 21, 0.5, 0.5)], silo, TimeSpan.FromSeconds(60));
        fleet.PublishReadings([new ThermostatReading("o-1", 18, Fleet.Clock)]);

        var (contentType, body) = await received.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal("application/x-protobuf", contentType);
        Assert.Contains("hearth-silo", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
    }

    public void Dispose() => _directory.Dispose();
}
