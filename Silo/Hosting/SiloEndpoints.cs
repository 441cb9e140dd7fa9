using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Hearth.Silo.Configuration;

namespace Hearth.Silo.Hosting;

/// <summary>
/// Where the silo listens and what it advertises: its HTTP addresses (from the standard ASP.NET Core
/// settings: <c>--urls</c>, <c>ASPNETCORE_URLS</c>, <c>ASPNETCORE_HTTP_PORTS</c>, <c>Urls</c>; default
/// <c>http://127.0.0.1:5080</c>) and its Orleans silo and gateway ports. A port 0 becomes a free port (see <see cref="FreePorts"/>),
/// chosen here so it can be advertised; every port is checked before anything starts, so a port in use stops the
/// silo with one line instead of failing it after it joined the cluster.
/// </summary>
public sealed record SiloEndpoints(IReadOnlyList<string> Urls, string HttpAddress, IPAddress AdvertisedAddress, int SiloPort, int GatewayPort)
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <exception cref="PortInUseException">A port is taken by another process.</exception>
    /// <exception cref="InvalidOperationException">An address setting cannot be understood (the message names it).</exception>
    public static SiloEndpoints Resolve(IConfiguration configuration, SiloSettings settings)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(settings);
        var advertised = settings.Orleans.AdvertisedAddress is { } configured
            ? IPAddress.Parse(configured)
            : settings.Storage.IsPostgres ? FirstNonLoopbackAddress() : IPAddress.Loopback;

        var urls = new List<string>();
        var chosen = new List<int>();
        foreach (var url in RequestedUrls(configuration))
        {
            if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal),
                    UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new InvalidOperationException($"The HTTP address '{url}' (Urls, --urls or ASPNETCORE_URLS) is not an http(s) URL.");
            }

            var listen = ListenAddress(uri.Host);
            var port = uri.Port == 0 ? FreePorts.Pick(listen, chosen) : Check(listen, uri.Port, $"HTTP port {uri.Port} ({url})");
            chosen.Add(port);
            urls.Add(new UriBuilder(uri) { Port = port }.Uri.GetLeftPart(UriPartial.Authority));
        }

        var listenOrleans = advertised;
        var siloPort = settings.Orleans.SiloPort == 0 ? FreePorts.Pick(listenOrleans, chosen) : Check(listenOrleans, settings.Orleans.SiloPort, $"Orleans:SiloPort {settings.Orleans.SiloPort}");
        chosen.Add(siloPort);
        var gatewayPort = settings.Orleans.GatewayPort == 0 ? FreePorts.Pick(listenOrleans, chosen) : Check(listenOrleans, settings.Orleans.GatewayPort, $"Orleans:GatewayPort {settings.Orleans.GatewayPort}");

        var first = new Uri(urls[0]);
        var httpAddress = settings.Silo.HttpAddress?.TrimEnd('/')
            ?? (first.Host is "0.0.0.0" or "[::]" ? new UriBuilder(first) { Host = advertised.ToString() }.Uri.GetLeftPart(UriPartial.Authority) : urls[0]);
        return new SiloEndpoints(urls, httpAddress, advertised, siloPort, gatewayPort);
    }

    private static IEnumerable<string> RequestedUrls(IConfiguration configuration)
    {
        if (configuration["urls"] is { Length: > 0 } urls)
        {
            return urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }

        if (configuration["http_ports"] is { Length: > 0 } ports)
        {
            return ports.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p =>
                int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _)
                    ? $"http://*:{p}"
                    : throw new InvalidOperationException($"ASPNETCORE_HTTP_PORTS must list port numbers; '{p}' is not one."));
        }

        return [DefaultUrl];
    }

    private static IPAddress ListenAddress(string host) => host switch
    {
        "0.0.0.0" => IPAddress.Any,
        "[::]" or "::" => IPAddress.IPv6Any,
        "localhost" => IPAddress.Loopback,
        _ when IPAddress.TryParse(host.Trim('[', ']'), out var address) => address,
        _ => Dns.GetHostAddresses(host).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
             ?? throw new InvalidOperationException($"The HTTP host '{host}' does not resolve to an IPv4 address."),
    };

    /// <summary>The port, if nothing listens on it; throws <see cref="PortInUseException"/> otherwise.</summary>
    private static int Check(IPAddress address, int port, string what)
    {
        try
        {
            // Without address reuse: a port any process listens on (Orleans' listeners share theirs) fails here.
            using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(1);
            return port;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
        {
            throw new PortInUseException($"{what} on {address} is {(e.SocketErrorCode == SocketError.AccessDenied ? "not allowed" : "in use by another process")}.");
        }
    }

    private static IPAddress FirstNonLoopbackAddress() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.OperationalStatus == OperationalStatus.Up && i.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
        ?? IPAddress.Loopback;
}

/// <summary>A port the silo must listen on is taken.</summary>
public sealed class PortInUseException(string message) : Exception(message);
