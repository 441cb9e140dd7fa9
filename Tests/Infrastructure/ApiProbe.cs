using System.Diagnostics;
using Hearth.Silo.Diagnostics;
using Hearth.Testing;

namespace Hearth.Tests.Infrastructure;

/// <summary>
/// An operator looking at the API while the cluster changes: <c>GET</c> of one path after another (thermostats,
/// <c>/api/cluster</c>), one request at a time, until stopped; every answer recorded.
/// </summary>
public sealed class ApiProbe : IAsyncDisposable
{
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(20);

    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Answer> _answers = [];
    private readonly Task _run;

    private ApiProbe(Uri address, IReadOnlyList<string> paths)
    {
        // Longer than a silo waits for a grain on a crashed silo to move (UnreachableSiloRetry.Window).
        _http = TestApiKeys.Client(address, timeout: TimeSpan.FromSeconds(60));
        _run = Task.Run(() => RunAsync(paths));
    }

    /// <summary>One answer: its status (0 if none came), how long it took, the silo that gave it and the body if it failed.</summary>
    public sealed record Answer(string Path, int Status, TimeSpan Took, string? ServedBy, string? Body);

    /// <summary>The path of a thermostat's state.</summary>
    public static string Thermostat(string id) => $"/api/thermostats/{Uri.EscapeDataString(id)}";

    public static ApiProbe Start(Uri address, IReadOnlyList<string> paths) => new(address, paths);

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

    private async Task RunAsync(IReadOnlyList<string> paths)
    {
        for (var i = 0; !_stop.IsCancellationRequested; i++)
        {
            var path = paths[i % paths.Count];
            var clock = Stopwatch.StartNew();
            Answer answer;
            try
            {
                // Not cancelled by the stop: a request under way is always answered and recorded.
                using var response = await _http.GetAsync(path);
                var servedBy = response.Headers.TryGetValues(ServedByHeader.Name, out var values) ? values.FirstOrDefault() : null;
                var body = response.IsSuccessStatusCode ? null : await response.Content.ReadAsStringAsync();
                answer = new Answer(path, (int)response.StatusCode, clock.Elapsed, servedBy, body);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                answer = new Answer(path, 0, clock.Elapsed, null, e.Message);
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
