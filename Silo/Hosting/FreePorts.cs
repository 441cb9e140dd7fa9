using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Hearth.Silo.Hosting;

/// <summary>
/// Free ports for addresses configured with port 0. They are taken from just below the system's ephemeral range:
/// a port the kernel hands out for a bind to port 0 comes from inside that range, where any new outgoing
/// connection of any process may take it between the moment it is chosen and the moment the silo listens on it.
/// </summary>
internal static class FreePorts
{
    private const int Span = 2500;

    /// <summary>The ports chosen from: <c>[First, End)</c>, ending where the ephemeral range begins.</summary>
    private static readonly (int First, int End) Range = ReadRange();

    /// <summary>A free port of <paramref name="address"/> from <see cref="Range"/>, other than those in <paramref name="except"/>.</summary>
    /// <exception cref="PortInUseException">Every port of the range is taken.</exception>
    public static int Pick(IPAddress address, IReadOnlyCollection<int> except)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(except);
        var (first, end) = Range;
        var start = Random.Shared.Next(first, end);
        for (var i = 0; i < end - first; i++)
        {
            var port = first + ((start - first + i) % (end - first));
            if (!except.Contains(port) && IsFree(address, port))
            {
                return port;
            }
        }

        throw new PortInUseException($"No free port on {address} between {first} and {end - 1}.");
    }

    /// <summary>Whether nothing listens on or is bound to <paramref name="port"/> of <paramref name="address"/>.</summary>
    private static bool IsFree(IPAddress address, int port)
    {
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(address, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static (int, int) ReadRange()
    {
        // Linux: "32768\t60999". Elsewhere, the IANA dynamic range starts at 49152.
        var low = 49152;
        try
        {
            var text = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            if (text.Length > 0 && int.TryParse(text[0], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                low = parsed;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        var end = Math.Max(low, 1024 + Span);
        return (end - Span, end);
    }
}
