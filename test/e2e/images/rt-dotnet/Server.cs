// A real HTTP server on .NET's own sockets, on a free loopback port (pods share the host network). One
// request at a time is enough for a test.
using System;
using System.Net;
using System.Net.Sockets;
using System.Text;

public static class Server
{
    public static void Main()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        Console.WriteLine("rt-dotnet listening on " + port);
        Console.Out.Flush();
        byte[] body = Encoding.ASCII.GetBytes("rt-dotnet\n");
        byte[] head = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.Length + "\r\nConnection: close\r\n\r\n");
        byte[] buf = new byte[4096];
        while (true)
        {
            using (Socket client = listener.AcceptSocket())
            {
                // Read the request up to its blank line.
                var request = new StringBuilder();
                int n;
                while ((n = client.Receive(buf)) > 0)
                {
                    request.Append(Encoding.ASCII.GetString(buf, 0, n));
                    if (request.ToString().Contains("\r\n\r\n")) break;
                }
                client.Send(head);
                client.Send(body);
                client.Shutdown(SocketShutdown.Both);
            }
        }
    }
}
