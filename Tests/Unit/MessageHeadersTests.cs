using Hearth.Runtime.Processing;

namespace Hearth.Tests.Unit;

public sealed class MessageHeadersTests
{
    [Theory]
    [InlineData("thermostat-readings", 3, 1234L)]
    [InlineData("a.b_c-d", 0, 0L)]
    [InlineData("t", 9999, long.MaxValue)]
    public void Origin_RoundTrips(string topic, int partition, long offset)
    {
        var text = MessageHeaders.FormatOrigin(topic, partition, offset);

        Assert.True(MessageHeaders.TryParseOrigin(text, out var t, out var p, out var o));
        Assert.Equal((topic, partition, offset), (t, p, o));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("topic")]
    [InlineData("topic/1")]
    [InlineData("/1/2")]
    [InlineData("topic/x/2")]
    [InlineData("topic/1/-2")]
    public void Origin_Malformed_IsRejected(string? text)
    {
        Assert.False(MessageHeaders.TryParseOrigin(text, out _, out _, out _));
    }
}
