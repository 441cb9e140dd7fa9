using Hearth.Grains;
using Hearth.Silo.Configuration;
using Hearth.Streaming.Kafka.Diagnostics;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Hearth.Silo.Diagnostics;

/// <summary>Export of the silo's metrics over OTLP. Section <c>Telemetry</c>.</summary>
public sealed class TelemetryOptions
{
    public const string SectionName = "Telemetry";

    /// <summary>
    /// An OTLP collector: <c>http://collector:4317</c> (gRPC) or <c>http://collector:4318</c> (HTTP, where
    /// <c>/v1/metrics</c> is added when no path is given); empty: no export (<c>/metrics</c> still serves them).
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary><c>grpc</c> (port 4317) or <c>http/protobuf</c> (port 4318).</summary>
    public string OtlpProtocol { get; set; } = "grpc";

    /// <summary>How often metrics are exported.</summary>
    public TimeSpan ExportInterval { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>Validates <see cref="TelemetryOptions"/>.</summary>
public sealed class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryOptions options)
    {
        var failures = new List<string>();
        // Empty means no export.
        OptionChecks.HttpUrl(failures, "Telemetry:OtlpEndpoint", string.IsNullOrWhiteSpace(options.OtlpEndpoint) ? null : options.OtlpEndpoint);

        if (options.OtlpProtocol is not ("grpc" or "http/protobuf"))
        {
            failures.Add($"Telemetry:OtlpProtocol must be 'grpc' or 'http/protobuf'; it is '{options.OtlpProtocol}'.");
        }

        OptionChecks.Range(failures, "Telemetry:ExportInterval", options.ExportInterval, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Exports the silo's meters to an OTLP collector when <c>Telemetry:OtlpEndpoint</c> is set.</summary>
internal sealed class OtlpMetricsExporter(IOptions<TelemetryOptions> options, IOptions<SiloOptions> silo) : IHostedService, IDisposable
{
    private MeterProvider? _provider;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var telemetry = options.Value;
        if (string.IsNullOrWhiteSpace(telemetry.OtlpEndpoint))
        {
            return Task.CompletedTask;
        }

        _provider = Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(r => r.AddService("hearth-silo", serviceInstanceId: silo.Value.Name))
            .AddMeter(KafkaStreamMetrics.MeterName, ThermostatMetrics.MeterName, PrometheusMetrics.OrleansMeter)
            .AddOtlpExporter((exporter, reader) =>
            {
                var endpoint = new Uri(telemetry.OtlpEndpoint);
                if (telemetry.OtlpProtocol == "grpc")
                {
                    exporter.Protocol = OtlpExportProtocol.Grpc;
                    exporter.Endpoint = endpoint;
                }
                else
                {
                    // Over HTTP the exporter posts to the URL as given: the signal's path must be in it.
                    exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                    exporter.Endpoint = endpoint.AbsolutePath is "/" or "" ? new Uri(endpoint, "v1/metrics") : endpoint;
                }
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)telemetry.ExportInterval.TotalMilliseconds;
            })
            .Build();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _provider?.ForceFlush(5_000);
        return Task.CompletedTask;
    }

    public void Dispose() => _provider?.Dispose();
}
