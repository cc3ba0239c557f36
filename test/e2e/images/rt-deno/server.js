// A Deno HTTP server (Deno.serve) on a free loopback port (pods share the host network, so no fixed port).
Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(`rt-deno listening on ${port}`),
}, () => new Response("rt-deno\n"));
