package rt;

import io.helidon.webserver.WebServer;

/** A Helidon SE web server on a port the kernel picks (pods share the host network); says which once it listens. */
public class Main {
    public static void main(String[] args) {
        WebServer server = WebServer.builder()
            .host("127.0.0.1")
            .port(0)
            .routing(r -> r.get("/", (req, res) -> res.send("ok")))
            .build()
            .start();
        System.out.println("Helidon WebServer listening on " + server.port());
    }
}
