using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Hearth.Grains;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;
using Hearth.Silo.Cluster;
using Hearth.Silo.Configuration;
using Hearth.Silo.Security;
using Hearth.Streaming.Kafka.Providers;
using Microsoft.Extensions.Options;

namespace Hearth.Silo.Api;

/// <summary>A thermostat as the API shows it.</summary>
/// <param name="Owner">The silo hosting the thermostat's controller.</param>
/// <param name="Partition">The readings partition the thermostat's key goes to (murmur2, as Java clients and the silos' producers choose).</param>
/// <param name="Source"><c>live</c>: the controller's state as it is now.</param>
/// <param name="LastSettingBy">Who published the setting in force through the API (a key's name, a token's subject); null if it came to Kafka otherwise.</param>
public sealed record ThermostatView(
    string ThermostatId,
    double? Setpoint,
    double? UpDelta,
    double? DownDelta,
    double? LastMeasurement,
    DateTimeOffset? LastReadingAt,
    HeaterAction? Heater,
    long LastCommandSeq,
    DateTimeOffset? LastCommandAt,
    IReadOnlyList<HeaterCommand> RecentCommands,
    string? Owner,
    int Partition,
    string Source,
    string? LastSettingBy)
{
    public static ThermostatView From(ThermostatStatus s, string? owner, int partition) =>
        new(s.ThermostatId, s.Setpoint, s.UpDelta, s.DownDelta, s.LastMeasurement, s.LastReadingAt, s.Heater,
            s.LastCommandSeq, s.LastCommandAt, s.RecentCommands, owner, partition, "live", s.LastSettingBy);
}

/// <summary>Where a setting was published.</summary>
public sealed record SettingAccepted(string ThermostatId, string Topic, int Partition, long Offset);

/// <summary><c>/api/thermostats</c>: read a thermostat's state, change its setting.</summary>
public static partial class ThermostatsApi
{
    /// <summary>The log category of the audit line of every setting published through the API.</summary>
    public const string AuditCategory = "Hearth.Silo.Audit";

    public static IEndpointRouteBuilder MapThermostatsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/thermostats");
        group.MapGet("/{id}", GetAsync);
        // Changing the fleet: control, within the caller's rate of writes (429 with Retry-After beyond it).
        group.MapPut("/{id}/setting", PutSettingAsync)
            .RequireAuthorization(Permissions.ControlPolicy)
            .RequireRateLimiting(SecurityHostingExtensions.WritesRateLimit);
        return app;
    }

    /// <summary>
    /// A grain call from whichever silo got the request: Orleans routes it to the controller's activation. While the
    /// silo holding it has crashed and is not yet declared dead, the call is repeated (<see cref="UnreachableSiloRetry"/>),
    /// then answered 503 with <c>Retry-After</c>.
    /// </summary>
    private static async Task<IResult> GetAsync(
        string id, HttpContext context, IGrainFactory grains, IClusterMembershipService membership, UnreachableSiloRetry retry,
        [FromKeyedServices(ThermostatStreams.Provider)] IKafkaStreamStatus kafka, IOptions<TopicsOptions> topics)
    {
        if (InvalidId(id) is { } invalid)
        {
            return invalid;
        }

        var controller = grains.GetGrain<IThermostatControllerGrain>(ThermostatKeys.GrainKey(id));
        ThermostatStatus? status;
        try
        {
            status = await retry.RunAsync(controller.GetStatusAsync, $"Reading thermostat {id}", context.RequestAborted);
        }
        catch (Exception e) when (UnreachableSiloRetry.IsUnreachable(e))
        {
            return ApiResults.Unavailable(context, "Thermostat controller unreachable",
                $"The silo holding the controller of thermostat '{id}' has stopped answering and the cluster has not yet moved the controller " +
                $"({UnreachableSiloRetry.Reason(e)}). Retry shortly.");
        }

        if (status is null)
        {
            return Results.Problem($"Thermostat '{id}' has never sent a reading or received a setting.", statusCode: StatusCodes.Status404NotFound,
                title: "Unknown thermostat");
        }

        var owner = membership.CurrentSnapshot.Members.Values.FirstOrDefault(m => m.SiloAddress.ToString() == status.Silo)?.Name ?? status.Silo;
        var readings = kafka.Topics.FirstOrDefault(t => t.Topic == topics.Value.Readings).Partitions;
        var partition = readings > 0 ? KafkaPartitioner.Partition(Encoding.UTF8.GetBytes(id), readings) : -1;
        return Results.Ok(ThermostatView.From(status, owner, partition));
    }

    /// <summary>Validates a setting and publishes it to the settings topic; the controller applies it when it reads it.</summary>
    private static async Task<IResult> PutSettingAsync(
        string id, HttpRequest request, [FromKeyedServices(ThermostatStreams.Provider)] IKafkaStreamStatus kafka,
        IOptions<TopicsOptions> topics, ILoggerFactory audit, CancellationToken cancellationToken)
    {
        if (InvalidId(id) is { } invalid)
        {
            return invalid;
        }

        JsonElement body;
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
            body = document.RootElement.Clone();
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Results.Problem($"The body is larger than Auth:MaxRequestBodyBytes allows: {e.Message}", statusCode: e.StatusCode, title: "Body too large");
        }
        catch (JsonException e)
        {
            return Invalid("body", $"The body must be a JSON object {{\"temperature\", \"upDelta\", \"downDelta\"}}: {e.Message}");
        }

        if (body.ValueKind != JsonValueKind.Object)
        {
            return Invalid("body", "The body must be a JSON object {\"temperature\", \"upDelta\", \"downDelta\"}.");
        }

        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var temperature = Number(body, "temperature", errors);
        var upDelta = Number(body, "upDelta", errors);
        var downDelta = Number(body, "downDelta", errors);
        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors, title: "The setting is not valid.");
        }

        // Who publishes it: the key's name or the token's subject (anonymous only with Auth:Mode=none).
        var author = request.HttpContext.User.Identity is { IsAuthenticated: true, Name: { } name } ? name : "anonymous";
        var setting = new ThermostatSetting(id, temperature!.Value, upDelta!.Value, downDelta!.Value, author);
        TopicPartitionOffset landed;
        try
        {
            landed = await kafka.Publisher.PublishAsync(topics.Value.Settings, Encoding.UTF8.GetBytes(id), ThermostatJson.Encode(setting),
                new Headers { { ThermostatSetting.SetByHeader, Encoding.UTF8.GetBytes(author) } }, cancellationToken: cancellationToken);
        }
        catch (KafkaException e)
        {
            // Not known to be published: the client repeats the PUT (a setting published twice is applied twice, to the same effect).
            return ApiResults.Unavailable(request.HttpContext, "Setting not published", $"Kafka did not take the setting for '{id}': {e.Message}. Retry shortly.");
        }

        LogSettingPublished(audit.CreateLogger(AuditCategory), author, id, setting.Temperature, setting.DownDelta, setting.UpDelta,
            landed.Topic, landed.Partition.Value, landed.Offset.Value, request.HttpContext.Connection.RemoteIpAddress?.ToString() ?? "-");
        return Results.Accepted($"/api/thermostats/{Uri.EscapeDataString(id)}",
            new SettingAccepted(id, landed.Topic, landed.Partition.Value, landed.Offset.Value));
    }

    private static double? Number(JsonElement body, string name, Dictionary<string, string[]> errors)
    {
        if (!body.TryGetProperty(name, out var value))
        {
            errors[name] = [$"{name} is required."];
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            errors[name] = [$"{name} must be a number."];
            return null;
        }

        if (!value.TryGetDouble(out var number) || !double.IsFinite(number))
        {
            errors[name] = [$"{name} must be a finite number."];
            return null;
        }

        if (ThermostatSetting.Problem(name, number) is { } problem)
        {
            errors[name] = [$"{problem}."];
            return null;
        }

        return number;
    }

    private static IResult? InvalidId(string id) =>
        ThermostatKeys.Problem(id) is { } problem
            ? Invalid("id", $"The thermostat id must be 1 to {ThermostatKeys.MaxLength} characters, without control characters: {problem}.")
            : null;

    private static IResult Invalid(string field, string message) =>
        Results.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] }, title: "The request is not valid.");

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Setting by {Author}: thermostat {ThermostatId} to {Temperature} (-{DownDelta}/+{UpDelta}), published to {Topic}[{Partition}]@{Offset}, from {RemoteAddress}")]
    private static partial void LogSettingPublished(ILogger logger, string author, string thermostatId, double temperature, double downDelta, double upDelta,
        string topic, int partition, long offset, string remoteAddress);
}
