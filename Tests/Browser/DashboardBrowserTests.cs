using System.Globalization;
using Hearth.Client;
using Hearth.Client.Simulation;
using Hearth.Testing;
using Hearth.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Hearth.Tests.Browser;

/// <summary>The dashboard in Debian's headless Chromium, through nginx in front of a three-silo cluster.</summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Browser")]
public sealed class DashboardBrowserTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly float Timeout = 90_000;

    [Fact]
    public async Task Dashboard_ThroughTheLoadBalancer_AfterLogin_ShowsTheSilosTheirTrafficAKillAndAThermostat_UntilLogout()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing; ./test.sh installs Debian's chromium package.");
        var topics = kafka.CreateTopics(partitions: 6);
        await using var cluster = await TestCluster.CreateAsync(kafka, topics, output);
        foreach (var name in new[] { "silo-1", "silo-2", "silo-3" })
        {
            await cluster.StartSiloAsync(name, new Dictionary<string, string?> { ["Orleans:Dashboard"] = "true" });
        }

        using var balancer = NginxLoadBalancer.Start(cluster.Silos.Values.Select(s => s.HttpAddress!));
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1440, Height = 1000 } });
        // Without a cookie the dashboard sends the browser to the login form, which takes an API key.
        await page.GotoAsync(new Uri(balancer.Address, "/dashboard").ToString());
        await page.WaitForURLAsync("**/login?ReturnUrl=%2Fdashboard", new() { Timeout = Timeout });
        await page.FillAsync("[data-testid=login-key]", "hearth_not-a-key");
        await page.ClickAsync("[data-testid=login-submit]");
        await Expect(page.Locator("[data-testid=login-error]")).ToBeVisibleAsync(new() { Timeout = Timeout });
        await page.FillAsync("[data-testid=login-key]", TestApiKeys.Read);
        await page.ClickAsync("[data-testid=login-submit]");
        await page.WaitForURLAsync("**/dashboard", new() { Timeout = Timeout });

        // All three silos, active.
        await Expect(page.Locator("[data-testid=silo-row][data-status=active]")).ToHaveCountAsync(3, new() { Timeout = Timeout });

        // A fleet runs: the processed count rises.
        var simulator = new FleetSimulator(new KafkaEndpoint(kafka.BootstrapServers, topics.Readings, topics.Settings, topics.Commands),
            new SimulationOptions { Thermostats = 60, Rate = 120, TimeScale = 60, ReportEvery = TimeSpan.FromSeconds(1) });
        using var stopFleet = new CancellationTokenSource();
        var fleet = simulator.RunAsync(null, stopFleet.Token);
        var before = await ProcessedAsync(page);
        await page.WaitForFunctionAsync(
            $"() => Number(document.getElementById('card-processed').textContent.replace(/,/g, '')) > {before + 200}",
            null, new PageWaitForFunctionOptions { Timeout = Timeout });

        // A silo dies: it shows dead, and its partitions move to the others.
        cluster.KillSilo("silo-3");
        await Expect(page.Locator("[data-testid=silo-row][data-silo=silo-3]")).ToHaveAttributeAsync("data-status", "dead", new() { Timeout = Timeout });
        await Expect(page.Locator("[data-testid=partition-tile][data-owner=silo-3]")).ToHaveCountAsync(0, new() { Timeout = Timeout });
        await Expect(page.Locator("[data-testid=partition-tile][data-owner='']")).ToHaveCountAsync(0, new() { Timeout = Timeout });
        await Expect(page.Locator("[data-testid=event-row][data-silo=silo-3]").Filter(new() { HasText = "dead" }).First)
            .ToBeVisibleAsync(new() { Timeout = Timeout });

        // A thermostat: its live state and recent commands.
        var room = simulator.Rooms[7];
        await page.FillAsync("[data-testid=thermostat-search]", room.Id);
        await page.ClickAsync("[data-testid=thermostat-search-button]");
        var state = page.Locator("[data-testid=thermostat-state]");
        await Expect(state).ToContainTextAsync(room.Id, new() { Timeout = Timeout });
        await Expect(state.Locator("dd[data-field=Setpoint]")).ToHaveTextAsync($"{room.Setpoint.ToString(CultureInfo.InvariantCulture)} °");
        await Expect(state.Locator("dd[data-field='Hosted by']")).ToContainTextAsync("silo-", new() { Timeout = Timeout });
        await Expect(page.Locator("[data-testid=thermostat-commands] tbody tr").First).ToBeVisibleAsync(new() { Timeout = Timeout });

        var screenshot = Path.Combine(TestArtifacts.Directory, "dashboard.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        output.WriteLine($"dashboard screenshot: {screenshot}");
        TestArtifacts.Record($"dashboard screenshot (3 silos through nginx, after a kill): {screenshot}");

        // The Orleans Dashboard, linked from ours, through the same balancer.
        await page.ClickAsync("[data-testid=orleans-dashboard]");
        await page.WaitForURLAsync("**/orleans/**", new() { Timeout = Timeout });
        await Expect(page.Locator("body")).ToContainTextAsync("Orleans", new() { Timeout = Timeout });

        // Logging out ends the session: the dashboard asks for a key again.
        await page.GotoAsync(new Uri(balancer.Address, "/dashboard").ToString());
        await page.ClickAsync("[data-testid=logout]");
        await page.WaitForURLAsync("**/login", new() { Timeout = Timeout });
        await page.GotoAsync(new Uri(balancer.Address, "/dashboard").ToString());
        await page.WaitForURLAsync("**/login?ReturnUrl=%2Fdashboard", new() { Timeout = Timeout });
        await stopFleet.CancelAsync();
        await fleet;
    }

    private static async Task<long> ProcessedAsync(IPage page)
    {
        var text = await page.Locator("#card-processed").TextContentAsync() ?? "0";
        return long.TryParse(text.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture, out var value) ? value : 0;
    }
}
