// The workload of the e2e-java image: a plain JVM that waits to be scanned.
public class Sleeper {
    public static void main(String[] args) throws InterruptedException {
        Thread.sleep(Long.MAX_VALUE);
    }
}
