/**
 * The real entry point as separate processes: two controller replicas elect one leader through a Lease, serve
 * health and metrics, shut down gracefully on SIGTERM and hand over; the reporter CLI writes a node's status.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { GROUP, SCANS, VERSION, type ContainerScan } from '../../controller/api/resources.js';
import { makeClients, type Clients } from '../../controller/kube/clients.js';
import {
  FAKE_NODE_TOLERATIONS,
  adminKubeConfig,
  freePort,
  apply,
  ensureCrds,
  REPO,
  sample,
  serviceAccountClients,
  uniqueName,
  waitFor,
  installRbac,
  removeInstall,
} from './helpers.js';

async function get(port: number, path: string): Promise<{ code: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { code: res.status, body: await res.text() };
}

function exited(p: ChildProcess): Promise<number | null> {
  return new Promise((r) => (p.exitCode !== null ? r(p.exitCode) : p.once('exit', (code) => r(code))));
}

describe('controller and reporter processes (real API server)', function () {
  this.timeout(120_000);
  const kc = adminKubeConfig();
  const admin = makeClients(kc);
  const ns = uniqueName('cs-proc');
  const node = `${ns}-n1`;
  const dir = mkdtempSync(join(tmpdir(), 'cs-proc-'));
  const procs: ChildProcess[] = [];
  const logs = new Map<ChildProcess, string>();
  const rbac = () => installRbac(ns);

  const kubeconfigFile = (c: Clients, name: string) => {
    const f = join(dir, `${name}.kubeconfig`);
    writeFileSync(f, c.kc.exportConfig());
    return f;
  };
  const run = (args: string[], env: Record<string, string>) => {
    const p = spawn(process.execPath, ['--import', 'tsx', `${REPO}controller/main.ts`, ...args], {
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    logs.set(p, '');
    const keep = (d: Buffer) => logs.set(p, (logs.get(p) ?? '') + d.toString());
    p.stdout.on('data', keep);
    p.stderr.on('data', keep);
    procs.push(p);
    return p;
  };
  let controllerKc: string;
  let reporterKc: string;
  const controller = async (name: string) => {
    const port = await freePort();
    const p = run(['controller', '--port', String(port)], {
      KUBECONFIG: controllerKc,
      POD_NAMESPACE: ns,
      POD_NAME: name,
      SCANNER_IMAGE: 'localhost/scanner:t',
      REPORTER_IMAGE: 'localhost/controller:t',
      REPORTER_SERVICE_ACCOUNT: 'container-scanner-reporter',
    });
    await waitFor(`${name} /healthz`, () => get(port, '/healthz').then((r) => r.code === 200), 30_000);
    return { p, port, name };
  };
  const isLeader = async (port: number) => /^containerscan_leader 1$/m.test((await get(port, '/metrics')).body);
  const scanDone = (name: string, phase = 'Completed') =>
    waitFor(
      `${name} ${phase}`,
      async () => {
        const s = (await admin.custom.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: SCANS,
          name,
        })) as ContainerScan;
        return s.status?.phase === phase ? s : undefined;
      },
      60_000,
    );
  const createScan = (name: string) =>
    admin.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: SCANS,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'ContainerScan',
        metadata: { name },
        spec: {
          nodeSelector: { 'it-proc': ns },
          tolerations: FAKE_NODE_TOLERATIONS,
          readinessTimeout: '60s',
          scanTimeout: '60s',
          teardownTimeout: '20s',
        },
      },
    });
  const reporter = async (runName: string, scanJson: string) => {
    const sdir = mkdtempSync(join(dir, 'scan-'));
    writeFileSync(join(sdir, 'scan.json'), scanJson);
    const p = run(['reporter', '--scan', join(sdir, 'scan.json'), '--report', join(sdir, 'report.json'), '--once'], {
      KUBECONFIG: reporterKc,
      NODE_NAME: node,
      POD_NAMESPACE: ns,
      RUN: runName,
    });
    return exited(p);
  };

  before(async () => {
    await ensureCrds(kc);
    await apply(kc, rbac());
    controllerKc = kubeconfigFile(await serviceAccountClients(admin, ns, 'container-scanner-controller'), 'controller');
    reporterKc = kubeconfigFile(await serviceAccountClients(admin, ns, 'container-scanner-reporter'), 'reporter');
    await admin.core.createNode({
      body: { apiVersion: 'v1', kind: 'Node', metadata: { name: node, labels: { 'it-proc': ns } } },
    });
  });
  let failed = false;
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });
  after(async () => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    if (failed) for (const [p, l] of logs) console.error(`--- process ${p.pid} log ---\n${l.slice(-4000)}`);
    await admin.core.deleteNode({ name: node }).catch(() => undefined);
    await removeInstall(admin, ns);
  });

  it('elects one leader, serves health and metrics, hands over on SIGTERM', async () => {
    const a = await controller('replica-a');
    await waitFor('replica-a to lead', () => isLeader(a.port), 30_000);
    const b = await controller('replica-b');
    await waitFor('replica-b ready', () => get(b.port, '/readyz').then((r) => r.code === 200));
    expect(await isLeader(b.port)).to.equal(false);
    const lease = await admin.coordination.readNamespacedLease({ namespace: ns, name: 'containerscan-controller' });
    expect(lease.spec!.holderIdentity).to.equal('replica-a');
    expect((await get(a.port, '/nope')).code).to.equal(404);

    // The leader reconciles; the reporter CLI reports the node.
    await createScan('first');
    await waitFor('run first-1 DaemonSet', () =>
      admin.apps.readNamespacedDaemonSet({ namespace: ns, name: 'first-1-scanner' }),
    );
    const id = 'containerd://' + 'ab'.repeat(32);
    expect(
      await reporter(
        'first-1',
        JSON.stringify({ ns1: { p1: { [id]: { 'runtime-kind': 'Node.js', 'runtime-kind-version': 'v22.6.0' } } } }),
      ),
    ).to.equal(0);
    const first = await scanDone('first');
    expect(first.status).to.include({ nodesReported: 1, containersScanned: 1, containersDetected: 1 });
    // The leader's metrics counted the run once, with the times its status records, and its one report in between.
    const metricsA = await waitFor('run first-1 in the metrics of replica-a', async () => {
      const body = (await get(a.port, '/metrics')).body;
      return sample(body, 'containerscan_run_duration_seconds_count{phase="Completed"}') === 1 && body;
    });
    expect(metricsA).to.match(/^containerscan_runs_completed_total\{errors="false"\} 1$/m);
    const runSeconds = (Date.parse(first.status!.completionTime!) - Date.parse(first.status!.startTime!)) / 1000;
    const runSum = sample(metricsA, 'containerscan_run_duration_seconds_sum{phase="Completed"}');
    expect(runSum).to.be.closeTo(runSeconds, 1e-6);
    expect(sample(metricsA, 'containerscan_node_report_seconds_count{phase="Reported"}')).to.equal(1);
    expect(sample(metricsA, 'containerscan_node_report_seconds_sum{phase="Reported"}')).to.be.within(0, runSeconds);
    expect(sample(metricsA, 'containerscan_node_report_seconds_count{phase="Failed"}')).to.equal(undefined);
    // Every reconcile is timed (a scrape may fall between the counter and the histogram: wait for them to agree).
    await waitFor('one reconcile duration per reconcile', async () => {
      const body = (await get(a.port, '/metrics')).body;
      const ok = sample(body, 'containerscan_reconcile_total{result="ok"}');
      return ok! > 0 && sample(body, 'containerscan_reconcile_duration_seconds_count{result="ok"}') === ok;
    });
    // Node.js's process metrics.
    expect(sample(metricsA, 'process_cpu_user_seconds_total')).to.be.above(0);
    expect(sample(metricsA, 'nodejs_heap_size_used_bytes')).to.be.above(0);

    // Graceful shutdown: exit 0, lease handed back, the other replica takes over at once.
    a.p.kill('SIGTERM');
    expect(await exited(a.p)).to.equal(0);
    await waitFor('replica-b to lead', () => isLeader(b.port), 20_000);
    await createScan('second');
    await waitFor('run second-1 DaemonSet', () =>
      admin.apps.readNamespacedDaemonSet({ namespace: ns, name: 'second-1-scanner' }),
    );
    // Garbage from the scanner: the reporter CLI records the failure and exits non-zero.
    expect(await reporter('second-1', 'not json at all')).to.equal(2);
    // Its only node failed: nothing is published and the run is not Completed.
    const second = await scanDone('second', 'Failed');
    expect(second.status!.errors).to.have.length(1);
    expect(second.status!.errors![0]).to.match(new RegExp(`^node ${node}: scan.json is not valid JSON`));
    // The new leader timed the failed run and its node's failed report; the first run is in the old leader's only.
    const metricsB = await waitFor('run second-1 in the metrics of replica-b', async () => {
      const body = (await get(b.port, '/metrics')).body;
      return sample(body, 'containerscan_run_duration_seconds_count{phase="Failed"}') === 1 && body;
    });
    const secondSeconds = (Date.parse(second.status!.completionTime!) - Date.parse(second.status!.startTime!)) / 1000;
    const secondSum = sample(metricsB, 'containerscan_run_duration_seconds_sum{phase="Failed"}');
    expect(secondSum).to.be.closeTo(secondSeconds, 1e-6);
    expect(sample(metricsB, 'containerscan_node_report_seconds_count{phase="Failed"}')).to.equal(1);
    expect(sample(metricsB, 'containerscan_run_duration_seconds_count{phase="Completed"}')).to.equal(undefined);
    b.p.kill('SIGTERM');
    expect(await exited(b.p)).to.equal(0);
  });

  it('the reporter CLI fails clearly without its environment', async () => {
    const p = run(['reporter', '--scan', '/nonexistent', '--report', '/nonexistent', '--once'], {
      KUBECONFIG: reporterKc,
      NODE_NAME: '',
      RUN: 'x',
      POD_NAMESPACE: ns,
    });
    expect(await exited(p)).to.equal(1);
    expect(logs.get(p)).to.contain('environment variable NODE_NAME is required');
  });
});
