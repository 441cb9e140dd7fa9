using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Hearth.Tests.Infrastructure;

/// <summary>What a test silo's own classes logged (<c>Hearth.*</c>, Information and above), for tests of what an operator is told.</summary>
public sealed class LogRecorder : ILoggerProvider
{
    private readonly ConcurrentQueue<Entry> _entries = new();

    /// <summary>Everything recorded so far, in order.</summary>
    public IReadOnlyList<Entry> Entries => [.. _entries];

    /// <summary>The entries of <typeparamref name="T"/>'s category at <paramref name="level"/>.</summary>
    public IReadOnlyList<Entry> Of<T>(LogLevel level) =>
        [.. _entries.Where(e => e.Category == typeof(T).FullName && e.Level == level)];

    public ILogger CreateLogger(string categoryName) =>
        categoryName.StartsWith("Hearth.", StringComparison.Ordinal) ? new Logger(this, categoryName) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    public void Dispose()
    {
    }

    public sealed record Entry(string Category, LogLevel Level, string Message);

    private sealed class Logger(LogRecorder recorder, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                recorder._entries.Enqueue(new Entry(category, logLevel, formatter(state, exception)));
            }
        }
    }
}
