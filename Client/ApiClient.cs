using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hearth.Grains.Interfaces;

namespace Hearth.Client;

/// <summary>The client's use of a silo's HTTP API (through the load balancer or directly).</summary>
internal static class ApiClient
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    /// <summary><c>GET /api/thermostats/{id}</c>, printed for people.</summary>
    public static async Task<int> GetStatusAsync(Uri api, string? apiKey, string id, TextWriter output, CancellationToken cancellationToken)
    {
        using var http = Http(api, apiKey);
        using var response = await http.GetAsync($"api/thermostats/{Uri.EscapeDataString(id)}", cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        var t = document.RootElement;
        string Text(string name) => t.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v.ToString() : "-";
        await output.WriteLineAsync($"""
            thermostat    {Text("thermostatId")}
            setpoint      {Text("setpoint")} (down {Text("downDelta")}, up {Text("upDelta")})
            last reading  {Text("lastMeasurement")} at {Text("lastReadingAt")}
            heater        {Text("heater")} (last command #{Text("lastCommandSeq")} at {Text("lastCommandAt")})
            owner         {Text("owner")}, partition {Text("partition")} ({Text("source")})
            """);
        if (t.TryGetProperty("note", out var note) && note.ValueKind == JsonValueKind.String)
        {
            await output.WriteLineAsync($"note          {note.GetString()}");
        }

        foreach (var command in t.GetProperty("recentCommands").EnumerateArray())
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  #{command.GetProperty("seq")} {command.GetProperty("action")} at {command.GetProperty("measurement")} (setpoint {command.GetProperty("setpoint")}) {command.GetProperty("timestamp")}"));
        }

        return 0;
    }

    /// <summary><c>PUT /api/thermostats/{id}/setting</c>.</summary>
    public static async Task<int> PutSettingAsync(Uri api, string? apiKey, ThermostatSetting setting, TextWriter output, CancellationToken cancellationToken)
    {
        using var http = Http(api, apiKey);
        using var response = await http.PutAsJsonAsync($"api/thermostats/{Uri.EscapeDataString(setting.ThermostatId)}/setting",
            new { temperature = setting.Temperature, upDelta = setting.UpDelta, downDelta = setting.DownDelta }, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        var accepted = document.RootElement;
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"accepted setting of {setting.ThermostatId}: {setting.Temperature} (-{setting.DownDelta}/+{setting.UpDelta}), published to {accepted.GetProperty("topic")} [{accepted.GetProperty("partition")}] @{accepted.GetProperty("offset")}"));
        return 0;
    }

    /// <summary>A client of <paramref name="api"/> that sends <paramref name="apiKey"/> in <c>X-Api-Key</c>, if there is one.</summary>
    private static HttpClient Http(Uri api, string? apiKey)
    {
        var http = new HttpClient { BaseAddress = api, Timeout = Timeout };
        if (!string.IsNullOrWhiteSpace(apiKey))
        {
            http.DefaultRequestHeaders.Add("X-Api-Key", apiKey.Trim());
        }

        return http;
    }

    /// <summary>Turns an error answer into an exception carrying the API's own reason.</summary>
    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            throw new NotPermittedException(
                $"401 Unauthorized: the HTTP API needs an API key (--api-key or HEARTH_API_KEY; ./run.sh prints one){(response.RequestMessage?.Headers.Contains("X-Api-Key") == true ? ", and it does not know this one" : "")}");
        }

        if (response.StatusCode == HttpStatusCode.Forbidden)
        {
            throw new NotPermittedException("403 Forbidden: the API key does not have the permission this needs (a setting needs a control key)");
        }

        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var reason = body;
        try
        {
            using var problem = JsonDocument.Parse(body);
            reason = problem.RootElement.TryGetProperty("errors", out var errors)
                ? string.Join("; ", errors.EnumerateObject().SelectMany(e => e.Value.EnumerateArray().Select(m => m.GetString())))
                : problem.RootElement.TryGetProperty("detail", out var detail) ? detail.GetString() ?? body : body;
        }
        catch (JsonException)
        {
            // Not a problem document: the body itself is the reason.
        }

        if (response.StatusCode == HttpStatusCode.BadRequest)
        {
            throw new ClientApp.UsageException(reason);
        }

        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new NotFoundException(reason);
        }

        throw new HttpRequestException($"{(int)response.StatusCode} {response.ReasonPhrase}: {reason}");
    }

    internal sealed class NotFoundException(string message) : Exception(message);

    internal sealed class NotPermittedException(string message) : Exception(message);
}
