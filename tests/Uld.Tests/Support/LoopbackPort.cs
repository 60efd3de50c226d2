using System.Net;
using System.Net.Sockets;

namespace Uld.Tests.Support;

/// <summary>Ports on 127.0.0.1 that nothing listens on, for servers to bind and for probes that must find nobody.</summary>
public static class LoopbackPort
{
    /// <summary>A port the system just handed out and released (free unless another process takes it meanwhile).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
