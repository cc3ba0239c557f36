"""A real Flask app served by werkzeug on a free loopback port (pods share the host network)."""
from flask import Flask
from werkzeug.serving import make_server

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return "rt-python\n"


server = make_server("127.0.0.1", 0, app)
print(f"rt-python listening on {server.server_port}", flush=True)
server.serve_forever()
