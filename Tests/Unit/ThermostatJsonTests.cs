using System.Text;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;

namespace Hearth.Tests.Unit;

public sealed class ThermostatJsonTests
{
    private static readonly DateTimeOffset BrokerTime = new(2026, 11, 20, 9, 30, 0, TimeSpan.Zero);

    [Fact]
    public void DecodeInput_CanonicalReading()
    {
        var result = Decode("t-17", """{"thermostatId":"t-17","measurement":21.4,"timestamp":"2026-11-20T10:00:00Z"}""");

        Assert.True(result.IsSuccess, result.Error);
        Assert.Equal(new ThermostatReading("t-17", 21.4, new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.Zero)), result.Value);
    }

    [Fact]
    public void DecodeInput_PythonReading_IdFromKeyAndTimestampFromBroker()
    {
        var result = Decode("t-3", """{"measurement":45.0}""");

        Assert.True(result.IsSuccess, result.Error);
        Assert.Equal(new ThermostatReading("t-3", 45.0, BrokerTime), result.Value);
    }

    [Fact]
    public void DecodeInput_CanonicalSetting()
    {
        var result = Decode("t-17", """{"thermostatId":"t-17","temperature":21.0,"upDelta":0.5,"downDelta":0.25}""");

        Assert.True(result.IsSuccess, result.Error);
        Assert.Equal(new ThermostatSetting("t-17", 21.0, 0.5, 0.25), result.Value);
    }

    [Fact]
    public void DecodeInput_PythonSetting_SnakeCaseDeltasAndIntegers()
    {
        var result = Decode("t-3", """{"temperature":45,"up_delta":1,"down_delta":2}""");

        Assert.True(result.IsSuccess, result.Error);
        Assert.Equal(new ThermostatSetting("t-3", 45, 1, 2), result.Value);
    }

    [Theory]
    [InlineData(-50, 0, 0)]
    [InlineData(100, 50, 50)]
    public void DecodeInput_SettingsOnTheBounds_AreAccepted(double temperature, double upDelta, double downDelta)
    {
        var value = $$"""{"temperature":{{temperature}},"upDelta":{{upDelta}},"downDelta":{{downDelta}}}""";

        var decoded = ThermostatJson.DecodeInput(Encoding.UTF8.GetBytes("t-1"), Encoding.UTF8.GetBytes(value), DateTimeOffset.UnixEpoch);

        Assert.Equal(new ThermostatSetting("t-1", temperature, upDelta, downDelta), decoded.Value);
    }

    [Fact]
    public void DecodeInput_UnknownFieldsAreIgnored()
    {
        var result = Decode("t-1", """{"measurement":20,"unit":"C","meta":{"a":[1,2,{"b":null}]}}""");

        Assert.True(result.IsSuccess, result.Error);
        Assert.IsType<ThermostatReading>(result.Value);
    }

    [Theory]
    [InlineData(null, """{"measurement":20}""", "no key")]
    [InlineData("", """{"measurement":20}""", "no key")]
    [InlineData("t-1", null, "no value")]
    [InlineData("t-1", "{not json", "invalid JSON")]
    [InlineData("t-1", """{"measurement":20""", "invalid JSON")]
    [InlineData("t-1", """{"measurement":20} trailing""", "invalid JSON")]
    [InlineData("t-1", "[1,2,3]", "must be a JSON object")]
    [InlineData("t-1", "42", "must be a JSON object")]
    [InlineData("t-1", """{"measurement":"20.5"}""", "'measurement' must be a number, not a string")]
    [InlineData("t-1", """{"measurement":null}""", "'measurement' must be a number, not null")]
    [InlineData("t-1", """{"measurement":true}""", "'measurement' must be a number, not a boolean")]
    [InlineData("t-1", """{"measurement":1e400}""", "'measurement' must be a finite number")]
    [InlineData("t-1", """{"measurement":NaN}""", "invalid JSON")]
    [InlineData("t-1", """{"measurement":"NaN"}""", "must be a number")]
    [InlineData("t-1", """{"temperature":-1e999,"upDelta":1,"downDelta":1}""", "'temperature' must be a finite number")]
    [InlineData("t-1", """{"temperature":21,"upDelta":-0.5,"downDelta":1}""", "'upDelta' must not be negative")]
    [InlineData("t-1", """{"temperature":21,"upDelta":0.5}""", "setting has no 'downDelta'")]
    [InlineData("t-1", """{"temperature":21,"downDelta":0.5}""", "setting has no 'upDelta'")]
    [InlineData("t-1", """{"temperature":21,"up_delta":"1","down_delta":1}""", "'upDelta' must be a number")]
    // The bounds the API enforces hold from Kafka too: a band edge that overflows would leave the heater on for good.
    [InlineData("t-1", """{"temperature":1e300,"upDelta":0.5,"downDelta":0.5}""", "setting out of range: temperature must be between -50 and 100")]
    [InlineData("t-1", """{"temperature":-50.5,"upDelta":0.5,"downDelta":0.5}""", "setting out of range: temperature")]
    [InlineData("t-1", """{"temperature":21,"upDelta":50.5,"downDelta":0.5}""", "setting out of range: upDelta must be between 0 and 50")]
    [InlineData("t-1", """{"temperature":21,"upDelta":1,"downDelta":1e300}""", "setting out of range: downDelta")]
    [InlineData("t-1", """{"measurement":20,"temperature":21,"upDelta":1,"downDelta":1}""", "both 'measurement' and 'temperature'")]
    [InlineData("t-1", """{"measurement":20,"upDelta":1}""", "must not carry deltas")]
    [InlineData("t-1", """{"unit":"C"}""", "neither a reading")]
    [InlineData("t-1", """{}""", "neither a reading")]
    [InlineData("t-1", """{"measurement":20,"measurement":21}""", "appears more than once")]
    [InlineData("t-1", """{"thermostatId":"t-2","measurement":20}""", "does not match the message key")]
    [InlineData("t-1", """{"thermostatId":7,"measurement":20}""", "'thermostatId' must be a string")]
    [InlineData("t-1", """{"measurement":20,"timestamp":12345}""", "'timestamp' must be an ISO 8601 string")]
    [InlineData("t-1", """{"measurement":20,"timestamp":"yesterday"}""", "'timestamp' is not an ISO 8601")]
    public void DecodeInput_Malformed_FailsWithReason(string? key, string? value, string reason)
    {
        var result = Decode(key, value);

        Assert.False(result.IsSuccess, $"decoded {result.Value}");
        Assert.Contains(reason, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeInput_KeyNotUtf8_Fails()
    {
        var result = ThermostatJson.DecodeInput([0xff, 0xfe], """{"measurement":20}"""u8, BrokerTime);

        Assert.False(result.IsSuccess);
        Assert.Contains("UTF-8", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void EncodedReadingAndSetting_DecodeToThemselves()
    {
        var reading = new ThermostatReading("t-5", 19.75, new DateTimeOffset(2026, 1, 2, 3, 4, 5, 678, TimeSpan.Zero));
        var setting = new ThermostatSetting("t-5", 21.5, 0.25, 1.5);

        Assert.Equal(reading, ThermostatJson.DecodeInput("t-5"u8, ThermostatJson.Encode(reading), BrokerTime).Value);
        Assert.Equal(setting, ThermostatJson.DecodeInput("t-5"u8, ThermostatJson.Encode(setting), BrokerTime).Value);
    }

    [Fact]
    public void Command_EncodesToTheDocumentedFormat_AndDecodes()
    {
        var command = new HeaterCommand("t-17", HeaterAction.On, 20.4, 21.0, 42, new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.Zero));

        var json = Encoding.UTF8.GetString(ThermostatJson.Encode(command));

        Assert.Equal("""{"thermostatId":"t-17","action":"on","measurement":20.4,"setpoint":21,"seq":42,"timestamp":"2026-11-20T10:00:00+00:00"}""", json);
        Assert.Equal(command, ThermostatJson.DecodeCommand(Encoding.UTF8.GetBytes(json)).Value);
    }

    [Theory]
    [InlineData("""{"thermostatId":"t-1","action":"toggle","measurement":1,"setpoint":1,"seq":1,"timestamp":"2026-11-20T10:00:00Z"}""")]
    [InlineData("""{"thermostatId":"t-1","action":"on"}""")]
    [InlineData("not json")]
    public void DecodeCommand_Malformed_Fails(string json)
    {
        Assert.False(ThermostatJson.DecodeCommand(Encoding.UTF8.GetBytes(json)).IsSuccess);
    }

    private static DecodeResult<ThermostatMessage> Decode(string? key, string? value) =>
        ThermostatJson.DecodeInput(
            key is null ? default : Encoding.UTF8.GetBytes(key),
            value is null ? default : Encoding.UTF8.GetBytes(value),
            BrokerTime);
}
