using System.Globalization;
using System.Net;
using Hearth.Silo.Hosting;

namespace Hearth.Testing;

/// <summary>
/// Ports for the silos, load balancers and servers a test run starts: each handed out once per process and free
/// when handed out, from the silo's own range for port 0 (below the ephemeral range, where no outgoing connection
/// lands). Silos started side by side thus never race each other for a port.
/// </summary>
public static class TestPorts
{
    private static readonly Lock Gate = new();
    private static readonly HashSet<int> Given = [];
    private static int _next = Random.Shared.Next(FreePorts.Range.First, FreePorts.Range.End);

    public static int Next()
    {
        var (first, end) = FreePorts.Range;
        lock (Gate)
        {
            for (var i = 0; i < end - first; i++)
            {
                var port = _next;
                _next = _next + 1 == end ? first : _next + 1;
                if (Given.Add(port) && FreePorts.IsFree(IPAddress.Loopback, port))
                {
                    return port;
                }
            }
        }

        throw new InvalidOperationException($"No free port left between {first} and {end - 1}.");
    }

    /// <summary>The HTTP address and Orleans ports of one silo on the loopback interface.</summary>
    public static Dictionary<string, string?> Silo() => new(StringComparer.Ordinal)
    {
        ["Urls"] = "http://127.0.0.1:" + Next().ToString(CultureInfo.InvariantCulture),
        ["Orleans:SiloPort"] = Next().ToString(CultureInfo.InvariantCulture),
        ["Orleans:GatewayPort"] = Next().ToString(CultureInfo.InvariantCulture),
    };
}
