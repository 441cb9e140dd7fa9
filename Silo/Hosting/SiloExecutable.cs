using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Orleans.Runtime.MembershipService;

namespace Hearth.Silo.Hosting;

/// <summary>
/// The silo executable: builds and starts the silo, runs it until it is told to stop (SIGTERM, Ctrl+C), and turns a
/// failure into one line on standard error and an exit code (<c>sysexits.h</c>). A failure to start says
/// "Silo could not start"; a failure once the silo had started (stopping it failed, say) says "Silo stopped".
/// </summary>
public static class SiloExecutable
{
    /// <summary>A port the silo must listen on is in use (<c>EX_UNAVAILABLE</c>).</summary>
    public const int PortInUse = 69;

    /// <summary>The silo failed after it had started (<c>EX_SOFTWARE</c>).</summary>
    public const int FailedAfterStart = 70;

    /// <summary>
    /// The silo could not join its cluster: the active silos did not answer it (<c>EX_TEMPFAIL</c>: it may be the network,
    /// worth a retry, or a certificate the cluster refuses, which is not).
    /// </summary>
    public const int CannotJoin = 75;

    /// <summary>The configuration is invalid, or the environment unusable (<c>EX_CONFIG</c>); the message names the key.</summary>
    public const int BadConfiguration = 78;

    /// <summary>Runs the silo; returns the process's exit code (<see cref="Environment.ExitCode"/> once it stopped as told).</summary>
    /// <param name="configure">As for <see cref="SiloApplication.Build"/> (tests).</param>
    public static async Task<int> RunAsync(string[] args, TextWriter error, Action<WebApplicationBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(error);
        var started = false;
        try
        {
            await using var app = SiloApplication.Build(args, configure);
            await SiloApplication.StartAsync(app).ConfigureAwait(false);
            started = true;
            await app.WaitForShutdownAsync().ConfigureAwait(false);
            return Environment.ExitCode;
        }
        catch (Exception e) when (!started && JoinFailure(e) is { } join)
        {
            await error.WriteLineAsync($"Silo could not join the cluster: {join.Message} With Orleans:Tls, check that this silo's certificate is issued by the cluster CA the others trust.").ConfigureAwait(false);
            return CannotJoin;
        }
        catch (Exception e) when (!started && StartFailure(e) is { } code)
        {
            await error.WriteLineAsync($"Silo could not start: {e.Message}").ConfigureAwait(false);
            return code;
        }
        catch (Exception e) when (started)
        {
            await error.WriteLineAsync($"Silo stopped: {e.Message}").ConfigureAwait(false);
            return FailedAfterStart;
        }
    }

    /// <summary>The exit code of a failure to build or start the silo, or null for one that is not foreseen (left unhandled).</summary>
    internal static int? StartFailure(Exception failure) => failure switch
    {
        // Checked before the silo joins anything: nothing to undo.
        PortInUseException => PortInUse,
        // Another process took the HTTP port between the check and the bind; the silo, started by then, has left the cluster.
        _ when IsAddressInUse(failure) => PortInUse,
        // Bad configuration or an unusable environment: say what, name the key, and stop.
        OptionsValidationException or InvalidOperationException or OrleansConfigurationException => BadConfiguration,
        _ => null,
    };

    /// <summary>Orleans' refusal to join a cluster whose active silos did not all answer, wherever it is in <paramref name="failure"/>.</summary>
    internal static Exception? JoinFailure(Exception failure) => failure switch
    {
        OrleansClusterConnectivityCheckFailedException => failure,
        AggregateException aggregate => aggregate.InnerExceptions.Select(JoinFailure).FirstOrDefault(e => e is not null),
        { InnerException: { } inner } => JoinFailure(inner),
        _ => null,
    };

    /// <summary>
    /// Whether <paramref name="failure"/> is a bind to an address in use: Kestrel's is an <see cref="IOException"/> over
    /// an <see cref="AddressInUseException"/> over a <see cref="SocketException"/> whose error is
    /// <see cref="SocketError.AddressAlreadyInUse"/>.
    /// </summary>
    internal static bool IsAddressInUse(Exception failure) => failure switch
    {
        AddressInUseException => true,
        SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsAddressInUse),
        { InnerException: { } inner } => IsAddressInUse(inner),
        _ => false,
    };
}
