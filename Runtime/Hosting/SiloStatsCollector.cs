using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hearth.Runtime.Diagnostics;
using Hearth.Runtime.Membership;
using Hearth.Runtime.Processing;

namespace Hearth.Runtime.Hosting;

/// <summary>A silo's figures as published with its heartbeat (the <c>stats</c> column of the membership table).</summary>
/// <param name="MessagesPerSecond">Input messages delivered to grains per second since the previous heartbeat.</param>
/// <param name="OutputsPerSecond">Messages grains published per second since the previous heartbeat.</param>
/// <param name="Lag">Per owned partition (as text), messages not yet processed.</param>
/// <param name="OutputLatencyP50Ms">Reading-to-command latency since the previous heartbeat; null when no command was published.</param>
public sealed record SiloStats(
    long AtMs,
    double MessagesPerSecond,
    long MessagesProcessed,
    double OutputsPerSecond,
    long OutputsPublished,
    long DeadLettered,
    long Activations,
    long Queued,
    double CpuPercent,
    double MemoryMb,
    IReadOnlyDictionary<string, long> Lag,
    double? OutputLatencyP50Ms,
    double? OutputLatencyP99Ms,
    long Rebalances)
{
    /// <summary>Parses the JSON a silo published, or null if there is none or it is not readable.</summary>
    public static SiloStats? TryParse(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(json, SiloStatsJsonContext.Default.SiloStats);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(SiloStats))]
internal sealed partial class SiloStatsJsonContext : JsonSerializerContext;

/// <summary>Computes <see cref="SiloStats"/> at each heartbeat from the runtime's counters and the process.</summary>
internal sealed class SiloStatsCollector(RuntimeMetrics metrics, PartitionManager partitions, TimeProvider time) : ISiloStatsProvider
{
    private readonly Lock _lock = new();
    private long _lastAt;
    private long _lastProcessed;
    private long _lastPublished;
    private TimeSpan _lastCpu;

    public string GetStats()
    {
        lock (_lock)
        {
            var now = time.GetTimestamp();
            var processed = metrics.Topics.Sum(t => t.Processed);
            var published = metrics.Topics.Sum(t => t.Published);
            using var process = Process.GetCurrentProcess();
            var cpu = process.TotalProcessorTime;
            var seconds = _lastAt == 0 ? 0 : time.GetElapsedTime(_lastAt, now).TotalSeconds;
            var (p50, p99, count) = metrics.TakeOutputLatencyPercentiles();
            var stats = new SiloStats(
                time.GetUtcNow().ToUnixTimeMilliseconds(),
                seconds > 0 ? Math.Round((processed - _lastProcessed) / seconds, 1) : 0,
                processed,
                seconds > 0 ? Math.Round((published - _lastPublished) / seconds, 1) : 0,
                published,
                metrics.Topics.Sum(t => t.DeadLettered),
                metrics.Activations,
                metrics.Queued,
                seconds > 0 ? Math.Round(100 * (cpu - _lastCpu).TotalSeconds / seconds / Environment.ProcessorCount, 1) : 0,
                Math.Round(process.WorkingSet64 / 1048576.0, 1),
                partitions.Lag().ToDictionary(l => l.Key.ToString(CultureInfo.InvariantCulture), l => l.Value),
                count > 0 ? Math.Round(p50, 2) : null,
                count > 0 ? Math.Round(p99, 2) : null,
                metrics.Rebalances);
            _lastAt = now;
            _lastProcessed = processed;
            _lastPublished = published;
            _lastCpu = cpu;
            return JsonSerializer.Serialize(stats, SiloStatsJsonContext.Default.SiloStats);
        }
    }
}
