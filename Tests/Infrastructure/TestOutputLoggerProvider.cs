using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Hearth.Tests.Infrastructure;

/// <summary>Sends a silo's logs to the test's output, so a failing test shows what the silo did.</summary>
public sealed class TestOutputLoggerProvider(ITestOutputHelper output, string prefix) : ILoggerProvider
{
    private readonly Action<string> _write = output.AsLog();

    public ILogger CreateLogger(string categoryName) => new Logger(_write, prefix, categoryName[(categoryName.LastIndexOf('.') + 1)..]);

    public void Dispose()
    {
    }

    private sealed class Logger(Action<string> write, string prefix, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            write($"{DateTime.UtcNow:HH:mm:ss.fff} [{prefix}] {logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
        }
    }
}
