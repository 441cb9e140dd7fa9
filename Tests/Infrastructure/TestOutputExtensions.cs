using Xunit.Abstractions;

namespace Hearth.Tests.Infrastructure;

public static class TestOutputExtensions
{
    /// <summary>Writes to the test's output, quietly doing nothing once the test has finished.</summary>
    public static Action<string> AsLog(this ITestOutputHelper? output) => line =>
    {
        try
        {
            output?.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test has finished; its output is closed.
        }
    };
}
