namespace Hearth.Silo.Security;

/// <summary>Says at start how the silo's endpoints are protected, and warns when they are not.</summary>
internal sealed partial class SecurityStartupLog(SecuritySetup setup, ILogger<SecurityStartupLog> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var options = setup.Options;
        if (options.IsOff)
        {
            LogOpen(logger);
        }
        else if (setup.GeneratedKeyFile is { } file)
        {
            LogGeneratedKey(logger, file);
        }
        else
        {
            LogProtected(logger, setup.Keys.Entries.Count, options.Jwt.IsEnabled ? options.Jwt.Authority ?? "a signing key" : "off",
                options.AnonymousMetrics ? "open to anyone" : "protected");
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Auth:Mode is none: every HTTP endpoint, settings included, is open to anyone who reaches the silo's HTTP port")]
    private static partial void LogOpen(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No API key or token issuer is configured (Auth:ApiKeys, Auth:Jwt): the silo listens on loopback only, so it made a control key for this run; it is in {File}")]
    private static partial void LogGeneratedKey(ILogger logger, string file);

    [LoggerMessage(Level = LogLevel.Information, Message = "HTTP endpoints need credentials: API keys {Keys}, JWT bearer tokens {Jwt}; /health open, /metrics {Metrics}")]
    private static partial void LogProtected(ILogger logger, int keys, string jwt, string metrics);
}
