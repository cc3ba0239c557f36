// A real Express server on a free loopback port (pods share the host network, so no fixed port).
const express = require("express");
const app = express();
app.get("/", (_req, res) => res.send("rt-node\n"));
const server = app.listen(0, "127.0.0.1", () => {
  console.log(`rt-node listening on ${server.address().port}`);
});
