package rt;

import io.vertx.core.Vertx;

/** An HTTP server on a port the kernel picks (pods share the host network); says which once it listens. */
public class Main {
    public static void main(String[] args) {
        Vertx.vertx().createHttpServer()
            .requestHandler(req -> req.response().end("ok"))
            .listen(0, "127.0.0.1")
            .onSuccess(s -> System.out.println("Vert.x HTTP server listening on " + s.actualPort()))
            .onFailure(e -> { e.printStackTrace(); System.exit(1); });
    }
}
