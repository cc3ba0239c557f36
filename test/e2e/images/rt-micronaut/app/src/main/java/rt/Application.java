package rt;

import io.micronaut.context.ApplicationContext;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.runtime.Micronaut;
import io.micronaut.runtime.server.EmbeddedServer;

/** Answers GET / with "ok" on a loopback port the kernel picks (application.properties); says which once up. */
@Controller("/")
public class Application {
    @Get(produces = "text/plain")
    public String index() {
        return "ok";
    }

    public static void main(String[] args) {
        ApplicationContext context = Micronaut.run(Application.class, args);
        System.out.println("Micronaut server listening on " + context.getBean(EmbeddedServer.class).getPort());
    }
}
