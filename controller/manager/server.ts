import { createServer, type Server } from 'node:http';
import type { Metrics } from './metrics.js';

export interface HealthState {
  /** Alive: the process serves requests (liveness). */
  live(): boolean;
  /** Ready: informers synced and (when leading) reconciling; a standby replica is ready too. */
  ready(): boolean;
}

/** /healthz, /readyz and /metrics on one port. */
export function startServer(port: number, health: HealthState, metrics: Metrics, host = '0.0.0.0'): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'Content-Type': type });
      res.end(body);
    };
    if (req.method !== 'GET') return reply(405, 'method not allowed\n');
    if (path === '/healthz') return health.live() ? reply(200, 'ok\n') : reply(503, 'not live\n');
    if (path === '/readyz') return health.ready() ? reply(200, 'ok\n') : reply(503, 'not ready\n');
    if (path === '/metrics') {
      metrics.render().then(
        (body) => reply(200, body, metrics.contentType),
        (e: Error) => reply(500, `collecting metrics failed: ${e.message}\n`),
      );
      return;
    }
    reply(404, 'not found\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
