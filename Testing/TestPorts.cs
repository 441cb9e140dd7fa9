using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Hearth.Testing;

/// <summary>
/// Ports for the silos, load balancers and servers a test run starts: each handed out once per process and free
/// when handed out, from just below the system's ephemeral range (where no outgoing connection lands, and where a
/// silo picks its port 0 too). Silos started side by side thus never race each other for a port.
/// </summary>
public static class TestPorts
{
    private const int Span = 2500;
    private static readonly Lock Gate = new();
    private static readonly HashSet<int> Given = [];
    private static readonly (int First, int End) Range = ReadRange();
    private static int _next = Random.Shared.Next(Range.First, Range.End);

    public static int Next()
    {
        var (first, end) = Range;
        lock (Gate)
        {
            for (var i = 0; i < end - first; i++)
            {
                var port = _next;
                _next = _next + 1 == end ? first : _next + 1;
                if (Given.Add(port) && IsFree(port))
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

    /// <summary>Whether nothing listens on or is bound to <paramref name="port"/> of the loopback interface.</summary>
    private static bool IsFree(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary><c>[First, End)</c>: the <see cref="Span"/> ports below the first ephemeral one (Linux; else below 49152, IANA's).</summary>
    private static (int First, int End) ReadRange()
    {
        var low = 49152;
        try
        {
            // "32768\t60999"
            var text = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            if (text.Length > 0 && int.TryParse(text[0], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                low = parsed;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        var end = Math.Max(low, 1024 + Span);
        return (end - Span, end);
    }
}
