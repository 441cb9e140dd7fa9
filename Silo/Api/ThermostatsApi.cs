using System.Text.Json;
using Hearth.Grains;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;
using Hearth.Runtime;
using Hearth.Runtime.Activation;
using Hearth.Runtime.Configuration;
using Hearth.Runtime.Hosting;
using Hearth.Runtime.Membership;
using Hearth.Silo.Cluster;
using Microsoft.Extensions.Options;

namespace Hearth.Silo.Api;

/// <summary>A thermostat as the API shows it.</summary>
/// <param name="Owner">The silo that answered from the live grain; null when answered from storage.</param>
/// <param name="Source"><c>live</c> (the owning silo's grain) or <c>storage</c> (the last checkpoint, while the owner is unknown).</param>
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
    string? Note)
{
    public static ThermostatView From(ThermostatStatus s, string? owner, int partition, string source, string? note = null) =>
        new(s.ThermostatId, s.Setpoint, s.UpDelta, s.DownDelta, s.LastMeasurement, s.LastReadingAt, s.Heater,
            s.LastCommandSeq, s.LastCommandAt, s.RecentCommands, owner, partition, source, note);
}

/// <summary>Where a setting was published.</summary>
public sealed record SettingAccepted(string ThermostatId, string Topic, int Partition, long Offset);

/// <summary><c>/api/thermostats</c>: read a thermostat's state, change its setting.</summary>
public static partial class ThermostatsApi
{
    /// <summary>Marks a request forwarded by another silo, so that it is never forwarded again.</summary>
    public const string ForwardedHeader = "X-Hearth-Forwarded-By";

    /// <summary>On every answer: the silo that produced it.</summary>
    public const string ServedByHeader = "X-Hearth-Served-By";

    public const double MinTemperature = -50;
    public const double MaxTemperature = 100;
    public const double MaxDelta = 50;

    public static IEndpointRouteBuilder MapThermostatsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/thermostats");
        group.MapGet("/{id}", GetAsync);
        group.MapPut("/{id}/setting", PutSettingAsync);
        return app;
    }

    /// <summary>
    /// Answered by the silo that owns the thermostat's partition; any other silo forwards the request there.
    /// If no owner is known (a rebalance in progress) the answer comes from the last checkpoint, marked so.
    /// </summary>
    private static async Task<IResult> GetAsync(
        string id, HttpContext context, GrainCalls grains, ClusterView cluster, SiloIdentity identity,
        IHttpClientFactory clients, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        if (InvalidId(id) is { } invalid)
        {
            return invalid;
        }

        if (!grains.IsReady)
        {
            return Results.Problem("The silo is starting; try again shortly.", statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        var result = await grains.InvokeAsync<IThermostatControllerGrain, ThermostatStatus>(id, g => g.GetStatusAsync());
        switch (result.Status)
        {
            case GrainCallStatus.Found:
                return Results.Ok(ThermostatView.From(result.Value!, identity.Name, result.Partition, "live"));
            case GrainCallStatus.NotFound:
                return NeverSeen(id);
        }

        if (!context.Request.Headers.ContainsKey(ForwardedHeader) &&
            await cluster.FindOwnerAsync(result.Partition, cancellationToken) is { HttpAddress: { } address } owner &&
            owner.Name != identity.Name)
        {
            try
            {
                using var client = clients.CreateClient(nameof(ThermostatsApi));
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(new Uri(address), $"/api/thermostats/{Uri.EscapeDataString(id)}"));
                request.Headers.Add(ForwardedHeader, identity.Name);
                using var response = await client.SendAsync(request, cancellationToken);
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                if (response.Headers.TryGetValues(ServedByHeader, out var servedBy))
                {
                    context.Response.Headers[ServedByHeader] = servedBy.ToArray();
                }

                return Results.Text(body, response.Content.Headers.ContentType?.ToString() ?? "application/json", statusCode: (int)response.StatusCode);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                LogForwardFailed(loggers.CreateLogger(nameof(ThermostatsApi)), id, owner.Name, address, e.Message);
            }
        }

        if (await grains.ReadStoredStateAsync<ThermostatState>(id, cancellationToken) is not { } state)
        {
            return NeverSeen(id);
        }

        return Results.Ok(ThermostatView.From(new ThermostatController(id, state).GetStatus(), null, result.Partition, "storage",
            "The owner of this thermostat's partition is not known right now (a rebalance is in progress); this is its state as of the last checkpoint."));
    }

    /// <summary>Validates a setting and publishes it to the settings topic; the grain applies it when it reads it.</summary>
    private static async Task<IResult> PutSettingAsync(
        string id, HttpRequest request, InputPublisher publisher, IOptions<TopicsOptions> topics, CancellationToken cancellationToken)
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
        catch (JsonException e)
        {
            return Invalid("body", $"The body must be a JSON object {{\"temperature\", \"upDelta\", \"downDelta\"}}: {e.Message}");
        }

        if (body.ValueKind != JsonValueKind.Object)
        {
            return Invalid("body", "The body must be a JSON object {\"temperature\", \"upDelta\", \"downDelta\"}.");
        }

        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var temperature = Number(body, "temperature", MinTemperature, MaxTemperature, errors);
        var upDelta = Number(body, "upDelta", 0, MaxDelta, errors);
        var downDelta = Number(body, "downDelta", 0, MaxDelta, errors);
        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors, title: "The setting is not valid.");
        }

        var setting = new ThermostatSetting(id, temperature!.Value, upDelta!.Value, downDelta!.Value);
        var landed = await publisher.PublishAsync(topics.Value.Settings, id, ThermostatJson.Encode(setting), cancellationToken);
        return Results.Accepted($"/api/thermostats/{Uri.EscapeDataString(id)}",
            new SettingAccepted(id, landed.Topic, landed.Partition, landed.Offset));
    }

    private static double? Number(JsonElement body, string name, double min, double max, Dictionary<string, string[]> errors)
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

        if (number < min || number > max)
        {
            errors[name] = [$"{name} must be between {min} and {max}; it is {number}."];
            return null;
        }

        return number;
    }

    private static IResult? InvalidId(string id) =>
        GrainKeys.Problem(id) is { } problem
            ? Invalid("id", $"The thermostat id must be 1 to {GrainKeys.MaxLength} characters, without control characters: {problem}.")
            : null;

    private static IResult Invalid(string field, string message) =>
        Results.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] }, title: "The request is not valid.");

    private static IResult NeverSeen(string id) =>
        Results.Problem($"Thermostat '{id}' has never sent a reading or received a setting.", statusCode: StatusCodes.Status404NotFound,
            title: "Unknown thermostat");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Forwarding the request for thermostat {Id} to its owner {Owner} at {Address} failed: {Reason}; answering from storage")]
    private static partial void LogForwardFailed(ILogger logger, string id, string owner, string address, string reason);
}
