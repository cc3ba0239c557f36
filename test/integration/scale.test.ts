/**
 * The controller on a simulated cluster of 200 nodes (test/sim): its own control plane with kube-scheduler and kwok
 * (hack/control-plane, CP_KWOK=1), the controller as its own process and ServiceAccount, reporters writing through
 * the reporter's code and credentials, and every fault in one run: dead nodes, garbage, nodes deleted and added, the
 * controller killed at half the reports. The larger sizes are `make bench-controller`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  adminClients,
  applyScan,
  controllerProcess,
  createNodes,
  install,
  nodeImages,
  oneRun,
  planNodes,
  serviceAccountKubeconfig,
  SERVICE_ACCOUNTS,
  timeouts,
  waitNodesReady,
  type ControllerProcess,
  type RunResult,
} from '../sim/simulator.js';
import { freePort, REPO } from './helpers.js';

const NODES = 200;

describe('a 200-node simulated cluster (kwok, real DaemonSet controller and scheduler)', function () {
  this.timeout(300_000);
  const state = `${process.env.CP_STATE ?? '/run/container-scanner-cp-it'}-kwok`;
  const env = { ...process.env, CP_STATE: state, CP_KWOK: '1' };
  const work = mkdtempSync(join(tmpdir(), 'cs-scale-'));
  let controller: ControllerProcess | undefined;
  let r: RunResult;
  const nodes = planNodes('sim', NODES);
  const joined = planNodes('sim-joined', 2);

  before(async function () {
    execFileSync(`${REPO}hack/control-plane`, ['up'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    const kubeconfig = `${state}/admin.kubeconfig`;
    const admin = adminClients(kubeconfig);
    await install(admin);
    const controllerKc = await serviceAccountKubeconfig(admin, SERVICE_ACCOUNTS.controller, work);
    const reporter = (await serviceAccountKubeconfig(admin, SERVICE_ACCOUNTS.reporter, work)).clients;
    await createNodes(admin, nodes);
    await waitNodesReady(admin, nodes.length, 120_000);
    // The controller as it ships, compiled, so that its memory is its own and not a TypeScript loader's.
    execFileSync(`${REPO}node_modules/.bin/tsc`, ['-p', `${REPO}tsconfig.build.json`]);
    controller = controllerProcess([`${REPO}dist/controller/main.js`], controllerKc.file, await freePort());
    controller.start();
    // Generous for 200 nodes, so that a busy machine does not fail good nodes; dead ones fail at readiness.
    timeouts.readinessMs = 60_000;
    timeouts.scanMs = 70_000;
    r = await oneRun({
      admin,
      reporter,
      controller,
      scan: 'sim',
      nodes,
      start: () => applyScan(admin, 'sim', { readinessTimeout: '60s', scanTimeout: '70s', teardownTimeout: '1m' }),
      workDir: work,
      deleteDuring: 2,
      addDuring: joined,
      restartAt: 0.5,
      timeoutMs: 200_000,
    });
    const total = [...r.requests.values()].reduce((a, b) => a + b, 0);
    console.log(
      `      ${NODES} nodes: apply → DaemonSet ${r.applyToDaemonSetMs} ms, last settled → published ` +
        `${r.lastSettledToPublishedMs} ms, controller peaks ` +
        `${r.controllerPeaksMiB.map((m) => m.toFixed(0)).join(', ')} MiB, ${total} API requests: ` +
        [...r.requests]
          .sort((x, y) => y[1] - x[1])
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
    );
  });

  after(async () => {
    await controller?.stop();
    rmSync(work, { recursive: true, force: true });
    execFileSync(`${REPO}hack/control-plane`, ['down'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  });

  it('targets every node, and fails exactly the dead, garbage and deleted ones, each for its reason', () => {
    const st = r.status!;
    const byName = new Map((st.nodes ?? []).map((n) => [n.name, n]));
    expect(st.phase).to.equal('Completed');
    expect(st.nodesDesired).to.equal(NODES);
    expect([...byName.keys()].sort()).to.deep.equal(nodes.map((n) => n.name).sort());
    for (const n of nodes) {
      const got = byName.get(n.name)!;
      if (r.deleted.includes(n.name)) expect(got.phase, n.name).to.equal('Failed');
      else if (n.fate === 'dead') expect([got.phase, got.reason], n.name).to.deep.equal(['Failed', 'NodeNotReady']);
      else if (n.fate === 'garbage') expect([got.phase, got.reason], n.name).to.deep.equal(['Failed', 'NodeFailed']);
      else expect(got.phase, n.name).to.equal('Reported');
    }
    const good = nodes.filter((n) => n.fate === 'good' && !r.deleted.includes(n.name)).length;
    expect(st.nodesReported).to.equal(good);
    expect(r.deleted).to.have.length(2);
  });

  it('publishes exactly what the reporters were given: every container of every reported node, hashed', () => {
    expect(r.expectedContainers).to.equal(16 * r.status!.nodesReported!);
    expect(r.published?.containers).to.equal(r.expectedContainers);
    expect(r.published?.tree).to.deep.equal(r.expectedTree);
    expect(r.status!.containersScanned).to.equal(r.expectedContainers);
  });

  it("lists nodes as large as real ones: kwok keeps each node's list of images, as a kubelet reports it", async () => {
    const admin = adminClients(`${state}/admin.kubeconfig`);
    const name = nodes.find((n) => !r.deleted.includes(n.name))!.name;
    const node = await admin.core.readNode({ name });
    expect(node.status?.images, name).to.deep.equal(nodeImages(name));
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, name).to.equal('True');
  });

  it('refuses the reporters of nodes that joined mid-run (no ScanResult, no permission)', () => {
    expect(r.added).to.deep.equal(joined.map((n) => n.name));
    expect(r.addedReporterErrors.length).to.be.greaterThan(0);
    for (const e of r.addedReporterErrors) expect(e).to.match(/HTTP 40[34]/);
  });

  it('survives the controller killed mid-run, each process within its memory, every object under 1 MiB', () => {
    expect(r.controllerPeaksMiB).to.have.length(2);
    for (const peak of r.controllerPeaksMiB) expect(peak).to.be.within(10, 200);
    expect(r.objects.scanResults).to.equal(NODES);
    expect(r.objects.largest.bytes).to.be.below(1024 * 1024);
    // Each report is fetched once by the controller (once more by the process started after the kill, which has
    // not judged it yet): its tree is not re-read per reconcile, nor polled.
    expect(r.requests.get('GET scanresults') ?? 0).to.be.at.most(2 * NODES);
    expect(r.requests.get('GET scanresults') ?? 0).to.be.at.least(NODES / 2);
  });
});
