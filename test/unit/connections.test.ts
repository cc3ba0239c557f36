/**
 * The controller's API requests reuse their connections (controller/kube/connections.ts), counted as the TCP
 * connections a local server accepts; the integration test (test/integration/connections.test.ts) counts them
 * in front of the real API server, over TLS.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { expect } from 'chai';
import { KubeConfig } from '@kubernetes/client-node';
import { makeClients } from '../../controller/kube/clients.js';
import { BoundedWatch, WatchIdleError } from '../../controller/kube/timeouts.js';

describe('API connections', () => {
  let server: Server;
  let port = 0;
  const sockets = new Set<Socket>();
  let accepted = 0;
  let closed = 0;

  before(async () => {
    server = createServer((req, res) => {
      if (req.url?.includes('watch=true')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        return; // a watch that stays open
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: '7' }, items: [] }));
    });
    server.on('connection', (s) => {
      accepted++;
      sockets.add(s);
      s.on('close', () => {
        closed++;
        sockets.delete(s);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  beforeEach(async () => {
    for (const s of sockets) s.destroy();
    while (sockets.size) await new Promise((r) => setTimeout(r, 10));
    accepted = 0;
    closed = 0;
  });

  /** A kubeconfig of its own for each test: client-node allows plain HTTP only with skipTLSVerify. */
  const config = () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't', certData: Buffer.from('first').toString('base64') }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return kc;
  };
  const list = (c: ReturnType<typeof makeClients>) => c.core.listNamespacedPod({ namespace: 'ns' });

  // undici hands a connection back to its pool just after the response's body has ended, so the request that
  // follows at once may find it still busy and open a second one; from then on the two take turns.
  it('makes one or two connections for many requests in a row', async () => {
    const c = makeClients(config());
    for (let i = 0; i < 20; i++) await list(c);
    expect(accepted, 'connections for 20 requests in a row').to.be.within(1, 2);
  });

  it('makes no more than twice as many connections as requests at once', async () => {
    const c = makeClients(config());
    for (let round = 0; round < 10; round++) await Promise.all([1, 2, 3, 4, 5].map(() => list(c)));
    expect(accepted, 'connections for 10 rounds of 5 requests at once').to.be.within(5, 10);
  });

  it('shares the pool with watches: requests go on while a watch holds a connection', async () => {
    const c = makeClients(config());
    await list(c);
    const watch = await new BoundedWatch(c.kc, 60_000).watch(
      '/api/v1/namespaces/ns/pods',
      {},
      () => undefined,
      () => undefined,
    );
    for (let i = 0; i < 10; i++) await list(c);
    watch.abort();
    expect(accepted, 'connections for a watch and 11 requests').to.be.within(2, 3);
  });

  it('gives a rotated client certificate new connections and closes the old ones', async () => {
    const kc = config();
    const c = makeClients(kc);
    for (let i = 0; i < 5; i++) await list(c);
    const before = accepted;
    expect(closed).to.equal(0);
    (kc.getCurrentUser() as { certData?: string }).certData = Buffer.from('second').toString('base64');
    for (let i = 0; i < 5; i++) await list(c);
    expect(accepted, 'connections after the rotation').to.be.within(before + 1, before + 2);
    for (let i = 0; i < 50 && closed < before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(closed, 'the connections of the old certificate, closed').to.equal(before);
  });

  it('drops the pool of a watch that went silent: its connections close, the next request opens a new one', async () => {
    const c = makeClients(config());
    await list(c); // one idle connection in the pool
    const ended = await new Promise<unknown>((done) => {
      void new BoundedWatch(c.kc, 300, 200).watch('/api/v1/namespaces/ns/pods', {}, () => undefined, done);
    });
    expect(ended).to.be.instanceOf(WatchIdleError);
    for (let i = 0; i < 50 && closed < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(closed, "the pool's idle connection and the watch's, closed").to.equal(2);
    await list(c);
    expect(accepted, 'connections: the first, the watch, a new one').to.equal(3);
  });
});
