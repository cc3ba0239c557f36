package rt;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.QuarkusApplication;
import io.quarkus.runtime.annotations.QuarkusMain;

/** Boots Quarkus, says so, then waits until the container is stopped. */
@QuarkusMain
public class Main implements QuarkusApplication {
    public static void main(String... args) {
        Quarkus.run(Main.class, args);
    }

    @Override
    public int run(String... args) {
        System.out.println("rt-quarkus ready");
        Quarkus.waitForExit();
        return 0;
    }
}
