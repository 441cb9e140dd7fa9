using System.Diagnostics;
using Hearth.Silo.Api;

namespace Hearth.Tests.Infrastructure;

/// <summary>
/// An operator looking at thermostats while the cluster changes: <c>GET /api/thermostats/{id}</c> for one id after
/// another, one request at a time, until stopped; every answer recorded.
/// </summary>
public sealed class ApiProbe : IAsyncDisposable
{
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(20);

    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Answer> _answers = [];
    private readonly Task _run;

    private ApiProbe(Uri address, IReadOnlyList<string> ids)
    {
        // Longer than the API waits for a crashed silo's controller (plus the balancer's retries on other silos).
        _http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        _run = Task.Run(() => RunAsync(ids));
    }

    /// <summary>One answer: its status (0 if none came), how long it took, the silo that gave it and the body if it failed.</summary>
    public sealed record Answer(string Id, int Status, TimeSpan Took, string? ServedBy, string? Body);

    public static ApiProbe Start(Uri address, IReadOnlyList<string> ids) => new(address, ids);

    /// <summary>Stops asking and returns every answer, in order.</summary>
    public async Task<IReadOnlyList<Answer>> StopAsync()
    {
        await _stop.CancelAsync();
        await _run;
        return _answers;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _http.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync(IReadOnlyList<string> ids)
    {
        for (var i = 0; !_stop.IsCancellationRequested; i++)
        {
            var id = ids[i % ids.Count];
            var clock = Stopwatch.StartNew();
            Answer answer;
            try
            {
                // Not cancelled by the stop: a request under way is always answered and recorded.
                using var response = await _http.GetAsync($"/api/thermostats/{Uri.EscapeDataString(id)}");
                var servedBy = response.Headers.TryGetValues(ThermostatsApi.ServedByHeader, out var values) ? values.FirstOrDefault() : null;
                var body = response.IsSuccessStatusCode ? null : await response.Content.ReadAsStringAsync();
                answer = new Answer(id, (int)response.StatusCode, clock.Elapsed, servedBy, body);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                answer = new Answer(id, 0, clock.Elapsed, null, e.Message);
            }

            _answers.Add(answer);
            try
            {
                await Task.Delay(Pause, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
