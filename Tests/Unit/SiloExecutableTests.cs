using System.Net.Sockets;
using Hearth.Silo.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Orleans.Runtime.MembershipService;

namespace Hearth.Tests.Unit;

/// <summary>How the silo executable tells a failure to start apart: by the exception, never by its text.</summary>
public sealed class SiloExecutableTests
{
    public static TheoryData<Exception, int?> StartFailures => new()
    {
        { new PortInUseException("HTTP port 5080 (http://127.0.0.1:5080) on 127.0.0.1 is in use by another process."), SiloExecutable.PortInUse },
        // Kestrel's, as .NET 10 throws it when the HTTP port is taken.
        { new IOException("Failed to bind to address http://127.0.0.1:5080: address already in use.", new AddressInUseException("Address already in use", Busy())), SiloExecutable.PortInUse },
        { new IOException("Failed to bind", Busy()), SiloExecutable.PortInUse },
        { new AggregateException(new InvalidOperationException("another"), new IOException("Failed to bind", Busy())), SiloExecutable.PortInUse },
        { new OptionsValidationException("configuration", typeof(object), ["Kafka:GroupId is required"]), SiloExecutable.BadConfiguration },
        { new InvalidOperationException("Topics:Settings 'x' does not exist"), SiloExecutable.BadConfiguration },
        // The words alone are not the failure.
        { new IOException("address already in use"), null },
        { new IOException("Failed to bind", new SocketException((int)SocketError.AccessDenied)), null },
        { new TimeoutException(), null },
    };

    [Theory]
    [MemberData(nameof(StartFailures))]
    public void StartFailure_IsClassifiedByTheException(Exception failure, int? expected) =>
        Assert.Equal(expected, SiloExecutable.StartFailure(failure));

    [Fact]
    public void JoinFailure_IsOrleansRefusalToJoin_WhereverItIsWrapped()
    {
        var check = new OrleansClusterConnectivityCheckFailedException("Failed to get ping responses from 2 of 2 active silos.");

        Assert.Same(check, SiloExecutable.JoinFailure(check));
        Assert.Same(check, SiloExecutable.JoinFailure(new AggregateException(new TimeoutException(), new InvalidOperationException("start failed", check))));
        Assert.Null(SiloExecutable.JoinFailure(new InvalidOperationException("Topics:Settings 'x' does not exist")));
    }

    private static SocketException Busy() => new((int)SocketError.AddressAlreadyInUse);
}
