using Hearth.Grains.Interfaces;

namespace Hearth.Tests.Unit;

/// <summary>Which thermostat ids the platform accepts (any other's messages are dead-lettered, API calls get 400).</summary>
public sealed class ThermostatKeysTests
{
    [Theory]
    [InlineData("t-17")]
    [InlineData("Wohnung 3, Küche")]
    [InlineData("温度计-1")]
    [InlineData("room\u00A0twelve")] // no-break space: a separator, not a control character
    [InlineData("🌡️-7")]
    public void AnyPrintableText_IsAThermostatId(string id) => Assert.Null(ThermostatKeys.Problem(id));

    [Theory]
    [InlineData("t-\u0000")]
    [InlineData("\u001Ft")]
    [InlineData("t\u007F")]
    [InlineData("t-\u0085-1")] // next line, C1
    [InlineData("t-\u009F")]
    [InlineData("a\nb")]
    public void AControlCharacterAnywhere_IsRefused(string id) =>
        Assert.Equal("the id contains control characters", ThermostatKeys.Problem(id));

    [Fact]
    public void EmptyAndOverlongIds_AreRefused_SayingWhy()
    {
        Assert.Equal("the id is empty", ThermostatKeys.Problem(" "));
        Assert.Equal($"the id is 256 characters long; at most {ThermostatKeys.MaxLength} are allowed", ThermostatKeys.Problem(new string('t', 256)));
        Assert.Null(ThermostatKeys.Problem(new string('t', ThermostatKeys.MaxLength)));
    }
}
