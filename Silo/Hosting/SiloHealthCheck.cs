using Hearth.Grains;
using Hearth.Silo.Cluster;
using Hearth.Silo.Configuration;
using Hearth.Streaming.Kafka.Providers;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hearth.Silo.Hosting;

/// <summary>
/// Ready when Orleans has made the silo active, the Kafka stream provider has started and its producer works (a new one
/// replaced it after a fatal error, say), and storage answers; degraded while a partition's deliveries are failing or
/// Kafka refuses its dead letters (its inputs wait), saying which and why.
/// </summary>
internal sealed class SiloHealthCheck(
    ISiloStatusOracle silo, [FromKeyedServices(ThermostatStreams.Provider)] IKafkaStreamStatus kafka, StorageProbe storage,
    ThermostatDispatcher dispatcher, TimeProvider time) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (silo.CurrentStatus != SiloStatus.Active)
        {
            return HealthCheckResult.Unhealthy($"the silo is {silo.CurrentStatus}, not active");
        }

        if (kafka.Topics.Count == 0)
        {
            return HealthCheckResult.Unhealthy("the Kafka stream provider has not started");
        }

        if (kafka.Publisher.Fault is { } fault)
        {
            // Nothing the silo publishes (commands, dead letters, its API's settings) reaches Kafka, and a new producer does not help.
            return HealthCheckResult.Unhealthy($"the Kafka producer {fault.Reason}");
        }

        if (await storage.ErrorAsync(cancellationToken) is { } error)
        {
            return HealthCheckResult.Unhealthy($"storage does not answer: {error}");
        }

        var stalls = StallReport.Current(dispatcher, kafka);
        if (stalls.Count > 0)
        {
            // Degraded, not unhealthy: the silo serves its API and its partitions resume by themselves once the cause ends.
            var now = time.GetUtcNow();
            return HealthCheckResult.Degraded(string.Join("; ", stalls.Select(s =>
                $"{s.Topic}[{s.Partition}] has been waiting {(long)(now - s.Since).TotalSeconds} s: {s.Reason}")));
        }

        var partitions = kafka.Partitions();
        return HealthCheckResult.Healthy($"pulls {partitions.Count} partitions: {string.Join(", ", partitions.Select(p => $"{p.Topic}/{p.Partition}"))}");
    }
}

/// <summary>Whether the database answers, asked at most every few seconds so that frequent probes cost nothing.</summary>
internal sealed class StorageProbe(IOptions<StorageOptions> options, TimeProvider time)
{
    private static readonly TimeSpan CacheTime = TimeSpan.FromSeconds(3);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private DateTimeOffset _checkedAt = DateTimeOffset.MinValue;
    private string? _error;

    /// <summary>Null when the database answered, else why it did not.</summary>
    public async Task<string?> ErrorAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (time.GetUtcNow() - _checkedAt < CacheTime)
            {
                return _error;
            }

            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(2));
                await PingAsync(options.Value, timeout.Token);
                _error = null;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                _error = e.Message;
            }

            _checkedAt = time.GetUtcNow();
            return _error;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static async Task PingAsync(StorageOptions storage, CancellationToken cancellationToken)
    {
        await using System.Data.Common.DbConnection connection = storage.IsPostgres
            ? new NpgsqlConnection(storage.EffectiveConnectionString)
            : new SqliteConnection(storage.EffectiveConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        await command.ExecuteScalarAsync(cancellationToken);
    }
}
