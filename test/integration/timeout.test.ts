/**
 * API requests are bounded: with the controller's connection to the real API server hung (a TCP proxy that holds
 * all traffic), a reconcile's request fails after the request timeout instead of waiting forever, the work queue
 * logs it and retries, and once the connection thaws the run goes on to its end.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { KubeConfig } from '@kubernetes/client-node';
import { GROUP, SCANS, VERSION, type ContainerScan } from '../../controller/api/resources.js';
import { makeClients, type Clients } from '../../controller/kube/clients.js';
import { BoundedWatch, RequestTimeoutError, WatchIdleError } from '../../controller/kube/timeouts.js';
import { Manager } from '../../controller/manager/manager.js';
import { Metrics } from '../../controller/manager/metrics.js';
import { loadTemplate } from '../../controller/reconcile/daemonset.js';
import { Reconciler } from '../../controller/reconcile/reconciler.js';
import { writeNodeStatus } from '../../controller/reporter/write-status.js';
import { log } from '../../controller/util/log.js';
import {
  FAKE_NODE_TOLERATIONS,
  FreezableProxy,
  adminKubeConfig,
  apply,
  ensureCrds,
  serviceAccountClients,
  uniqueName,
  waitFor,
  installRbac,
  removeInstall,
} from './helpers.js';

const REQUEST_TIMEOUT_MS = 1500;

describe('bounded API requests under a hung connection (real API server)', function () {
  this.timeout(120_000);
  const kc = adminKubeConfig();
  const admin = makeClients(kc);
  const ns = uniqueName('cs-tmo');
  const node = `${ns}-n`;
  const rbac = () => installRbac(ns);
  let proxy: FreezableProxy;
  let manager: Manager | undefined;
  const logged: string[] = [];
  const keepLog = (info: { message?: string; error?: string }) => logged.push(`${info.message} ${info.error ?? ''}`);

  before(async () => {
    await ensureCrds(kc);
    await apply(kc, rbac());
    await admin.core.createNode({
      body: { apiVersion: 'v1', kind: 'Node', metadata: { name: node, labels: { 'it-run': ns } } },
    });
    log.on('data', keepLog);
  });
  after(async () => {
    log.off('data', keepLog);
    proxy?.thaw();
    await manager?.stop();
    proxy?.close();
    await admin.core.deleteNode({ name: node }).catch(() => undefined);
    await removeInstall(admin, ns);
  });

  /** The controller's own credentials, through a proxy that can freeze. */
  const proxiedConfig = async () => {
    const direct = await serviceAccountClients(admin, ns, 'container-scanner-controller');
    const server = new URL(direct.kc.getCurrentCluster()!.server);
    proxy = new FreezableProxy({ host: server.hostname, port: Number(server.port) });
    await proxy.listen();
    const proxied = new KubeConfig();
    proxied.loadFromOptions({
      clusters: [{ ...direct.kc.getCurrentCluster()!, server: `https://127.0.0.1:${proxy.port}` }],
      users: direct.kc.getUsers(),
      contexts: direct.kc.getContexts(),
      currentContext: direct.kc.getCurrentContext(),
    });
    return proxied;
  };

  it('fails a hung request after the request timeout, retries, and finishes the run after the thaw', async () => {
    const reporter = await serviceAccountClients(admin, ns, 'container-scanner-reporter');
    const proxied = await proxiedConfig();
    const clients: Clients = makeClients(proxied, { requestMs: REQUEST_TIMEOUT_MS, watchMs: 5000 });
    const metrics = new Metrics({ processMetrics: false });
    const reconciler = new Reconciler({
      clients,
      namespace: ns,
      template: loadTemplate(),
      images: { scanner: 'localhost/scanner:t', reporter: 'localhost/controller:t' },
      reporterServiceAccount: 'container-scanner-reporter',
      metrics,
      identity: 'timeout-test',
    });
    manager = new Manager({ clients, namespace: ns, reconciler, metrics });
    await manager.start();

    const getScan = () =>
      admin.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: SCANS,
        name: 'hang',
      }) as Promise<ContainerScan>;
    await admin.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: SCANS,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'ContainerScan',
        metadata: { name: 'hang', namespace: ns },
        spec: {
          nodeSelector: { 'it-run': ns },
          tolerations: FAKE_NODE_TOLERATIONS,
          readinessTimeout: '90s',
          scanTimeout: '90s',
          historyLimit: 1,
        },
      },
    });
    const running = await waitFor('the run to start', async () => {
      const s = await getScan();
      return s.status?.phase === 'Running' && s.status.run ? s : undefined;
    });
    const run = running.status!.run!;
    // The run's reporter may write its status once its RoleBinding exists.
    await waitFor('the reporter RoleBinding', () =>
      admin.rbac.readNamespacedRoleBinding({ namespace: ns, name: `${run}-reporter` }),
    );

    // The connection hangs: a reconcile's request fails after the timeout instead of waiting.
    proxy.freeze();
    const started = Date.now();
    const err = await reconciler.reconcile(ns, 'hang').then(
      () => undefined,
      (e: unknown) => e,
    );
    const took = Date.now() - started;
    expect(err, 'the reconcile did not fail').to.be.instanceOf(Error);
    expect((err as Error).cause, (err as Error).message).to.be.instanceOf(RequestTimeoutError);
    expect((err as Error).message).to.match(/API request timed out: [A-Z]+ \/\S+ got no answer within 1\.5 s/);
    expect(took).to.be.within(REQUEST_TIMEOUT_MS, REQUEST_TIMEOUT_MS + 2000);
    // The work queue's reconcile fails the same way, says so in the log, and retries.
    manager.enqueue(ns, 'hang');
    await waitFor(
      'two timed-out reconciles in the log',
      async () =>
        logged.filter((l) => l.startsWith('reconcile failed; retrying') && l.includes('API request timed out'))
          .length >= 2,
      15_000,
    );

    // The node reports while the controller's connection is still hung (the reporter's own connection is fine).
    const dir = mkdtempSync(join(tmpdir(), 'cs-tmo-'));
    writeFileSync(join(dir, 'scan.json'), JSON.stringify({}));
    writeFileSync(
      join(dir, 'report.json'),
      JSON.stringify({
        version: 1,
        node,
        startedAt: new Date().toISOString(),
        durationMs: 5,
        containersFound: 0,
        containersScanned: 0,
        containersFailed: 0,
        containers: [],
      }),
    );
    const reported = await writeNodeStatus(reporter, {
      scanPath: join(dir, 'scan.json'),
      reportPath: join(dir, 'report.json'),
      node,
      namespace: ns,
      run,
      retryForMs: 5000,
    });
    expect(reported.phase).to.equal('Reported');
    await new Promise((r) => setTimeout(r, 2 * REQUEST_TIMEOUT_MS));
    expect((await getScan()).status?.phase, 'the run moved on with its connection hung').to.equal('Running');

    // After the thaw the retries go through and the run finishes.
    proxy.thaw();
    const done = await waitFor(
      'the run to complete',
      async () => {
        const s = await getScan();
        return s.status?.phase === 'Completed' && s.status.run === run ? s : undefined;
      },
      60_000,
    );
    expect(done.status?.nodesReported).to.equal(1);
  });

  it('ends a watch whose connection carries nothing for longer than its timeout and margin', async () => {
    proxy.close();
    const proxied = await proxiedConfig();
    const watch = new BoundedWatch(proxied, 2000, 1000);
    const events: string[] = [];
    let ended: (e: unknown) => void = () => undefined;
    const end = new Promise<unknown>((r) => (ended = r));
    // The server ends a healthy watch after its timeoutSeconds: the first one ends cleanly.
    await watch.watch(`/api/v1/namespaces/${ns}/pods`, {}, (type) => events.push(type), ended);
    const started = Date.now();
    expect(await end, 'a healthy watch ended with an error').to.equal(null);
    expect(Date.now() - started).to.be.within(1000, 3000 + 1000);

    // A hung one is cut after timeout + margin of silence, before or after the server answered.
    let hungEnd: (e: unknown) => void = () => undefined;
    const hung = new Promise<unknown>((r) => (hungEnd = r));
    proxy.freeze();
    const frozenAt = Date.now();
    void watch.watch(`/api/v1/namespaces/${ns}/pods`, {}, (type) => events.push(type), hungEnd);
    const err = await Promise.race([hung, new Promise((r) => setTimeout(() => r('still hanging'), 10_000))]);
    expect(err).to.be.instanceOf(Error);
    expect(String((err as Error).message)).to.contain(new WatchIdleError(3000).message);
    // The limit counts from the request's start, so a watch that hangs in its TLS handshake is cut as soon.
    expect(Date.now() - frozenAt).to.be.within(3000, 3000 + 1500);
    proxy.thaw();
  });
});
