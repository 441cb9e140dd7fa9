using Hearth.Grains;
using Hearth.Silo.Configuration;
using Hearth.Silo.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Hearth.Tests.Unit;

/// <summary>What a silo running <c>AddThermostatControl</c> (built, not started) gets of its configuration's sections.</summary>
public sealed class ThermostatControlOptionsTests
{
    [Fact]
    public void TheGrainsAndTheDispatcher_GetTheGrainsSectionAsRead()
    {
        var settings = Read(new() { ["Grains:WriteBehindInterval"] = "00:00:03", ["Grains:MaxDeliveryTime"] = "00:00:07" });
        using var silo = SiloHost(settings);

        var options = silo.Services.GetRequiredService<IOptions<ThermostatGrainOptions>>().Value;

        Assert.Same(settings.Grains, options);
        Assert.Equal(TimeSpan.FromSeconds(7), options.MaxDeliveryTime);
    }

    private static SiloSettings Read(Dictionary<string, string?> values) =>
        SiloSettings.Read(new ConfigurationBuilder().AddInMemoryCollection(values).Build());

    private static IHost SiloHost(SiloSettings settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => silo.UseLocalhostClustering().AddThermostatControl(settings));
        return builder.Build();
    }
}
