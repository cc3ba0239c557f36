/**
 * Leader election under outages, with the real entry point as separate processes and client-go's timings (lease
 * 15 s, renew deadline 10 s, retry 2 s): the API server is paused (SIGSTOP of the test control plane's
 * kube-apiserver), and one replica's connection is paused by a TCP proxy in the test. A leader must survive an
 * outage shorter than the renew deadline, and stop acting before another replica can take the lease.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { KubeConfig } from '@kubernetes/client-node';
import { makeClients, type Clients } from '../../controller/kube/clients.js';
import { sleep } from '../../controller/util/sleep.js';
import {
  adminKubeConfig,
  apply,
  freePort,
  ensureCrds,
  FreezableProxy,
  REPO,
  serviceAccountClients,
  uniqueName,
  waitFor,
  installRbac,
  removeInstall,
} from './helpers.js';

describe('leader election under outages (real API server)', function () {
  this.timeout(180_000);
  const kc = adminKubeConfig();
  const admin = makeClients(kc);
  const ns = uniqueName('cs-lead');
  const dir = mkdtempSync(join(tmpdir(), 'cs-lead-'));
  const procs: ChildProcess[] = [];
  const logs = new Map<ChildProcess, string>();
  const rbac = () => installRbac(ns);
  let controllerClients: Clients;

  const apiServerPid = () => {
    const state = process.env.CP_STATE;
    if (!state)
      throw new Error(
        'CP_STATE is not set: these tests pause the kube-apiserver of the control plane hack/test-integration starts',
      );
    return Number(readFileSync(join(state, 'run', 'kube-apiserver.pid'), 'utf8').trim());
  };
  const kubeconfigFile = (c: Clients, name: string, server?: string) => {
    const kcx = new KubeConfig();
    const cluster = c.kc.getCurrentCluster()!;
    kcx.loadFromOptions({
      clusters: [{ ...cluster, server: server ?? cluster.server }],
      users: c.kc.getUsers(),
      contexts: c.kc.getContexts(),
      currentContext: c.kc.getCurrentContext(),
    });
    const f = join(dir, `${name}.kubeconfig`);
    writeFileSync(f, kcx.exportConfig());
    return f;
  };
  const replica = async (name: string, kubeconfig: string) => {
    const port = await freePort();
    const p = spawn(
      process.execPath,
      ['--import', 'tsx', `${REPO}controller/main.ts`, 'controller', '--port', String(port)],
      {
        env: {
          ...process.env,
          KUBECONFIG: kubeconfig,
          POD_NAMESPACE: ns,
          POD_NAME: name,
          SCANNER_IMAGE: 'localhost/scanner:t',
          REPORTER_IMAGE: 'localhost/controller:t',
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    logs.set(p, '');
    const keep = (d: Buffer) => logs.set(p, (logs.get(p) ?? '') + d.toString());
    p.stdout.on('data', keep);
    p.stderr.on('data', keep);
    procs.push(p);
    const exit = new Promise<{ code: number | null; at: number }>((r) =>
      p.once('exit', (code) => r({ code, at: Date.now() })),
    );
    return { p, port, name, exit };
  };
  const holder = async () =>
    (await admin.coordination.readNamespacedLease({ namespace: ns, name: 'containerscan-controller' })).spec
      ?.holderIdentity;
  const leads = async (port: number) => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) });
      return /^containerscan_leader 1$/m.test(await res.text());
    } catch {
      return false;
    }
  };
  const renewTime = async () =>
    Date.parse(
      String(
        (await admin.coordination.readNamespacedLease({ namespace: ns, name: 'containerscan-controller' })).spec!
          .renewTime,
      ),
    );

  before(async () => {
    await ensureCrds(kc);
    await apply(kc, rbac());
    controllerClients = await serviceAccountClients(admin, ns, 'container-scanner-controller');
  });
  let failed = false;
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });
  after(async () => {
    try {
      process.kill(apiServerPid(), 'SIGCONT');
    } catch {
      /* not paused, or no control plane */
    }
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    if (failed) for (const [p, l] of logs) console.error(`--- process ${p.pid} log ---\n${l.slice(-4000)}`);
    await removeInstall(admin, ns);
  });

  it(
    'keeps leading through an API server pause shorter than the renew deadline, and steps down before the lease ' +
      'can expire in a longer one',
    async () => {
      const a = await replica('pause-a', kubeconfigFile(controllerClients, 'direct'));
      await waitFor('pause-a to lead', () => leads(a.port), 30_000);
      let exited = false;
      void a.exit.then(() => (exited = true));

      // 7 s: shorter than the renew deadline (10 s). The leader stays.
      const pid = apiServerPid();
      process.kill(pid, 'SIGSTOP');
      await sleep(7000);
      process.kill(pid, 'SIGCONT');
      await sleep(5000);
      expect(exited, 'the leader exited during a 7 s outage').to.equal(false);
      expect(await leads(a.port)).to.equal(true);
      expect(await holder()).to.equal('pause-a');

      // 20 s: longer than the lease (15 s). The leader must stop acting within the renew deadline of its last
      // renewal, before the lease expires for anyone else.
      await waitFor('a fresh renewal', async () => Date.now() - (await renewTime()) < 1000, 10_000, 100);
      const lastRenew = await renewTime();
      process.kill(pid, 'SIGSTOP');
      const stopped = Date.now();
      const gone = await Promise.race([a.exit, sleep(20_000).then(() => undefined)]);
      process.kill(pid, 'SIGCONT');
      expect(gone, 'the leader kept running through a 20 s outage').to.not.equal(undefined);
      expect(gone!.code).to.equal(1);
      // At most the renew deadline plus one retry period after its last renewal, and before the lease ran out.
      expect(gone!.at - lastRenew).to.be.at.most(10_000 + 2_000 + 1_000);
      expect(gone!.at - lastRenew).to.be.below(15_000);
      expect(gone!.at).to.be.above(stopped);
      expect(logs.get(a.p)).to.contain('lost leadership');
    },
  );

  it("hands over without overlap when the leader's connection hangs", async () => {
    const server = new URL(controllerClients.kc.getCurrentCluster()!.server);
    const proxy = new FreezableProxy({ host: server.hostname, port: Number(server.port) });
    await proxy.listen();
    try {
      // The previous test's leader left the lease held: wait for whoever is next to get it cleanly.
      const a = await replica(
        'hang-a',
        kubeconfigFile(controllerClients, 'proxied', `https://127.0.0.1:${proxy.port}`),
      );
      await waitFor('hang-a to lead', () => leads(a.port), 40_000);
      const b = await replica('hang-b', kubeconfigFile(controllerClients, 'direct'));
      await sleep(3000);
      expect(await leads(b.port)).to.equal(false);

      // A short hang (5 s) is survived.
      proxy.freeze();
      await sleep(5000);
      proxy.thaw();
      await sleep(4000);
      expect(a.p.exitCode).to.equal(null);
      expect(await holder()).to.equal('hang-a');

      // A long hang: a stops acting at its renew deadline; b takes over only once the lease has expired.
      await waitFor('a fresh renewal', async () => Date.now() - (await renewTime()) < 1000, 10_000, 100);
      const lastRenew = await renewTime();
      proxy.freeze();
      const gone = await Promise.race([a.exit, sleep(25_000).then(() => undefined)]);
      expect(gone, 'the leader with a hung connection kept running').to.not.equal(undefined);
      expect(gone!.at - lastRenew).to.be.below(15_000);
      await waitFor('hang-b to hold the lease', async () => (await holder()) === 'hang-b', 30_000, 100);
      const takenAt = Date.now();
      expect(takenAt).to.be.above(gone!.at);
      expect(takenAt - lastRenew).to.be.at.least(15_000);
      await waitFor('hang-b to lead', () => leads(b.port), 10_000);
      b.p.kill('SIGTERM');
      expect((await b.exit).code).to.equal(0);
    } finally {
      proxy.close();
    }
  });
});
