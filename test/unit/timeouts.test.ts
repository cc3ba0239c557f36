/**
 * Request and watch bounds against a local HTTP server that stops answering (no Kubernetes needed to hang a
 * connection); the integration test (test/integration/timeout.test.ts) does the same to the real API server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { expect } from 'chai';
import { KubeConfig, Observable } from '@kubernetes/client-node';
import { makeClients } from '../../controller/kube/clients.js';
import { BoundedWatch, RequestTimeoutError, WatchIdleError } from '../../controller/kube/timeouts.js';
import { flagDuration } from '../../controller/util/cli.js';

describe('bounded API requests', () => {
  let server: Server;
  let kc: KubeConfig;
  let handle: (req: IncomingMessage, res: ServerResponse) => void;
  const sockets = new Set<Socket>();

  before(async () => {
    server = createServer((req, res) => handle(req, res));
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    kc = new KubeConfig();
    // client-node allows plain HTTP only with skipTLSVerify.
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  const podList = JSON.stringify({ apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: '7' }, items: [] });

  it('fails a request that gets no answer after the request timeout', async () => {
    handle = () => undefined; // never answers
    const c = makeClients(kc, { requestMs: 300, watchMs: 1000 });
    const started = Date.now();
    const err = await c.core.listNamespacedPod({ namespace: 'ns' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(RequestTimeoutError);
    expect((err as Error).message).to.equal(
      'API request timed out: GET /api/v1/namespaces/ns/pods got no answer within 0.3 s',
    );
    expect(Date.now() - started).to.be.within(300, 1500);
  });

  it('fails a request whose body stops halfway', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(podList.slice(0, 20)); // and nothing more
    };
    const c = makeClients(kc, { requestMs: 300, watchMs: 1000 });
    const err = await c.core.listNamespacedPod({ namespace: 'ns' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(RequestTimeoutError);
  });

  it('answers a prompt request as before, and keeps a deadline of the caller', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(podList);
    };
    const c = makeClients(kc, { requestMs: 300, watchMs: 1000 });
    const list = await c.core.listNamespacedPod({ namespace: 'ns' });
    expect(list.metadata?.resourceVersion).to.equal('7');

    // A signal the caller set aborts the request as it did, not as a timeout.
    handle = () => undefined;
    const slow = makeClients(kc, { requestMs: 10_000, watchMs: 1000 });
    const started = Date.now();
    const err = await slow.core
      .listNamespacedPod(
        { namespace: 'ns' },
        {
          middleware: [
            {
              pre: (ctx) => {
                ctx.setSignal(AbortSignal.timeout(200));
                return new Observable(Promise.resolve(ctx));
              },
              post: (res) => new Observable(Promise.resolve(res)),
            },
          ],
          middlewareMergeStrategy: 'append',
        },
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).to.be.instanceOf(Error);
    expect(err).to.not.be.instanceOf(RequestTimeoutError);
    expect(Date.now() - started).to.be.below(2000);
  });

  it('asks the server to end a watch, with bookmarks, and cuts one that goes silent', async () => {
    let query: URLSearchParams | undefined;
    handle = (req, res) => {
      query = new URL(req.url!, 'http://x').searchParams;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '8' } } })}\n`);
      // then silence, without ending the watch
    };
    const events: string[] = [];
    const started = Date.now();
    const err = await new Promise<unknown>((done) => {
      void new BoundedWatch(kc, 1000, 300).watch('/api/v1/namespaces/ns/pods', {}, (type) => events.push(type), done);
    });
    expect(query?.get('timeoutSeconds')).to.equal('1');
    expect(query?.get('allowWatchBookmarks')).to.equal('true');
    expect(events).to.deep.equal(['ADDED']);
    expect(err).to.be.instanceOf(WatchIdleError);
    expect(Date.now() - started).to.be.within(1300, 3000);
  });

  it('reads timeout flags as durations', () => {
    expect(flagDuration(undefined, 'request-timeout', 30_000)).to.equal(30_000);
    expect(flagDuration('1m30s', 'request-timeout', 30_000)).to.equal(90_000);
    expect(() => flagDuration('30', 'request-timeout', 30_000)).to.throw(/--request-timeout: invalid duration "30"/);
    expect(() => flagDuration('0s', 'watch-timeout', 30_000)).to.throw(/--watch-timeout must be positive/);
  });
});
