/**
 * The controller's requests and watches reuse their TLS connections to the real API server
 * (controller/kube/connections.ts): a TCP proxy in front of it counts the connections they open. client-node 2.x's
 * undici offers HTTP/2 and the API server takes it, so one connection carries every request and watch at once
 * (test/unit/connections.test.ts covers HTTP/1.1, one request per connection at a time).
 */
import { expect } from 'chai';
import { KubeConfig } from '@kubernetes/client-node';
import { makeClients } from '../../controller/kube/clients.js';
import { BoundedWatch, RequestTimeoutError } from '../../controller/kube/timeouts.js';
import { FreezableProxy, adminKubeConfig } from './helpers.js';

describe('API connections to the real API server (TLS)', function () {
  this.timeout(60_000);
  let proxy: FreezableProxy | undefined;
  afterEach(() => proxy?.close());

  /** The admin kubeconfig, through a counting proxy. */
  const proxied = async () => {
    const kc = adminKubeConfig();
    const server = new URL(kc.getCurrentCluster()!.server);
    proxy = new FreezableProxy({ host: server.hostname, port: Number(server.port) });
    await proxy.listen();
    const through = new KubeConfig();
    through.loadFromOptions({
      clusters: [{ ...kc.getCurrentCluster()!, server: `https://127.0.0.1:${proxy.port}` }],
      users: kc.getUsers(),
      contexts: kc.getContexts(),
      currentContext: kc.getCurrentContext(),
    });
    return { proxy, kc: through };
  };

  it('makes one connection for 30 requests, in a row and at once', async () => {
    const { proxy, kc } = await proxied();
    const c = makeClients(kc);
    for (let i = 0; i < 15; i++) await c.core.listNamespace({ limit: 1 });
    await Promise.all(Array.from({ length: 15 }, () => c.core.listNamespace({ limit: 1 })));
    expect(proxy.accepted, 'TLS connections for 30 requests').to.equal(1);
  });

  it('carries a watch and requests on that connection', async () => {
    const { proxy, kc } = await proxied();
    const c = makeClients(kc);
    await c.core.listNamespace({ limit: 1 });
    const events: string[] = [];
    const watch = await new BoundedWatch(c.kc, 60_000).watch(
      '/api/v1/namespaces',
      {},
      (type) => events.push(type),
      () => undefined,
    );
    for (let i = 0; i < 20; i++) await c.core.listNamespace({ limit: 1 });
    watch.abort();
    expect(events, 'the watch delivered the namespaces').to.include('ADDED');
    expect(proxy.accepted, 'TLS connections for a watch and 21 requests').to.equal(1);
  });

  it('moves to a new connection after a request timed out on a hung one', async () => {
    const { proxy, kc } = await proxied();
    const c = makeClients(kc, { requestMs: 1000, watchMs: 60_000 });
    await c.core.listNamespace({ limit: 1 });
    proxy.freeze();
    const err = await c.core.listNamespace({ limit: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(RequestTimeoutError);
    proxy.thaw(); // the old connection works again, but it is no longer used
    for (let i = 0; i < 5; i++) await c.core.listNamespace({ limit: 1 });
    expect(proxy.accepted, 'the hung connection and its replacement').to.equal(2);
  });
});
