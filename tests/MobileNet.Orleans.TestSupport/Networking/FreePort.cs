using System.Net;
using System.Net.Sockets;

namespace MobileNet.Orleans.Testing.Networking;

/// <summary>Loopback ports nobody listens on right now, for the processes a test starts.</summary>
public static class FreePort
{
    /// <summary>A port the OS just handed out and released; another process could take it first, which tests accept.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>True once something accepts TCP connections on <paramref name="port"/>.</summary>
    public static async Task<bool> AnswersAsync(int port, CancellationToken cancellationToken = default)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
