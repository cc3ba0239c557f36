// A Bun HTTP server (Bun.serve) on a free loopback port (pods share the host network, so no fixed port).
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("rt-bun\n") });
console.log(`rt-bun listening on ${server.port}`);
