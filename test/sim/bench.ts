/**
 * The controller benchmark on a simulated cluster (`make bench-controller`, through hack/bench-controller, which
 * starts the control plane with CP_KWOK=1 and sets KUBECONFIG). Four runs of one ContainerScan with historyLimit 3:
 *   run 1: every node, with the faults (5% of nodes without a ready pod, 1% garbage, 1% of nodes deleted and 1%
 *          added mid-run) and the controller killed at half the reports and started again;
 *   runs 2, 3: the nodes whose runtime works (a node selector leaves out the dead ones, so that a run ends when the
 *          last node reports, not at the readiness deadline; the garbage nodes stay), so three runs are retained;
 *   then the controller is restarted with that history in place, and run 4 is made by the new process.
 * Prints one table; exits 1 when a target or a check is missed.
 *
 *   node --import tsx test/sim/bench.ts --nodes 500 [--main dist/controller/main.js] [--json out.json]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { expect } from 'chai';
import {
  adminClients,
  applyScan,
  controllerProcess,
  createNodes,
  install,
  oneRun,
  planNodes,
  serviceAccountKubeconfig,
  SERVICE_ACCOUNTS,
  timeouts,
  waitNodesReady,
  RUNTIME_OK_LABEL,
  type RunResult,
  type SimNode,
} from './simulator.js';
import { freePort, REPO } from '../integration/helpers.js';
import { sleep } from '../../controller/util/sleep.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '500' },
    main: { type: 'string', default: `${REPO}dist/controller/main.js` },
    json: { type: 'string' },
  },
});
const N = Number(values.nodes);
const kubeconfig = process.env.KUBECONFIG;
if (!kubeconfig || !Number.isInteger(N) || N < 100) {
  console.error('usage: KUBECONFIG=<admin> bench.ts --nodes N (N >= 100)');
  process.exit(2);
}

// Deadlines that leave a busy machine time to create every pod and write every report: the dead nodes of run 1
// fail at readiness.
const readinessS = Math.max(60, Math.ceil(N / 8));
timeouts.readinessMs = readinessS * 1000;
timeouts.scanMs = (readinessS + 10) * 1000;
const spec = (concurrency: number, allNodes: boolean) => ({
  readinessTimeout: `${readinessS}s`,
  scanTimeout: `${readinessS + 10}s`,
  teardownTimeout: '2m',
  historyLimit: 3,
  concurrency,
  ...(allNodes ? {} : { nodeSelector: { [RUNTIME_OK_LABEL]: 'true' } }),
});

const admin = adminClients(kubeconfig);
const work = mkdtempSync(join(tmpdir(), 'cs-bench-'));
const t0 = Date.now();
const say = (msg: string) => console.error(`bench-controller [${((Date.now() - t0) / 1000).toFixed(0)}s]: ${msg}`);

await install(admin);
const controllerKc = await serviceAccountKubeconfig(admin, SERVICE_ACCOUNTS.controller, work);
const reporter = (await serviceAccountKubeconfig(admin, SERVICE_ACCOUNTS.reporter, work)).clients;
let nodes: SimNode[] = planNodes('sim', N);
const fates = (f: string) => nodes.filter((n) => n.fate === f).length;
say(`creating ${N} nodes (${fates('dead')} dead, ${fates('garbage')} garbage)`);
await createNodes(admin, nodes);
await waitNodesReady(admin, nodes.length, 600_000);
// What one node weighs in a listing: its JSON (as client-node serializes the object it read).
const sampleNode = await admin.core.readNode({ name: nodes[0]!.name });
say(
  `nodes ready: one is ${(JSON.stringify(sampleNode).length / 1024).toFixed(1)} KiB of JSON, ` +
    `${sampleNode.status?.images?.length ?? 0} images`,
);

const controller = controllerProcess([values.main], controllerKc.file, await freePort());
controller.start();
const results: { label: string; r: RunResult }[] = [];
let added = 0;
const run = async (label: string, concurrency: number, faults: boolean) => {
  const addDuring = faults ? planNodes('sim-joined', Math.ceil(N / 100), added) : [];
  added += addDuring.length;
  // As in a healthy cluster: every node Ready and untainted when the run lists its nodes. Right after a run,
  // kwok's heartbeats for thousands of nodes lag and the node controller taints some not-ready for a while.
  await waitNodesReady(admin, nodes.length, 600_000);
  say(`${label}: starting`);
  const r = await oneRun({
    admin,
    reporter,
    controller,
    scan: 'bench',
    nodes: faults ? nodes : nodes.filter((n) => n.fate !== 'dead'),
    start: () => applyScan(admin, 'bench', spec(concurrency, faults)),
    workDir: work,
    ...(faults ? { deleteDuring: Math.ceil(N / 100), addDuring, restartAt: 0.5 } : {}),
    timeoutMs: 30 * 60_000,
  });
  // Deleted nodes are gone for good; joined ones are targeted from the next run on.
  nodes = [...nodes.filter((n) => !r.deleted.includes(n.name)), ...addDuring];
  results.push({ label, r });
  const total = [...r.requests.values()].reduce((x, y) => x + y, 0);
  say(
    `${label}: ${r.status?.phase}, ${r.published?.containers ?? 0}/${r.expectedContainers} containers published; ` +
      `apply → DaemonSet ${r.applyToDaemonSetMs} ms, last settled → published ${r.lastSettledToPublishedMs} ms, ` +
      `apply → published ${r.applyToPublishedMs} ms, peaks ${r.controllerPeaksMiB.map((m) => m.toFixed(0)).join(', ')} MiB, ` +
      `${total} requests, largest object ${r.objects.largest.bytes} bytes`,
  );
};

await run('run 1 (faults, restart)', 1, true);
await run('run 2', 2, false);
await run('run 3', 3, false);
// Three runs retained: the controller starts again with that history and makes run 4.
const beforeRestart = await controller.stop('SIGTERM');
controller.start();
await sleep(15_000);
controller.sample();
const restartedAtRest = controller.peakKiB / 1024;
await run('run 4 (after restart, 3 runs retained)', 4, false);
const afterRestart = await controller.stop('SIGTERM');

// ---- checks and the table --------------------------------------------------------------------------------------
const failures: string[] = [];
const check = (what: string, fn: () => void) => {
  try {
    fn();
  } catch (e) {
    failures.push(`${what}: ${(e as Error).message}`);
  }
};
const mib = (n: number) => `${n.toFixed(0)} MiB`;
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rows: string[][] = [];
for (const { label, r } of results) {
  const st = r.status!;
  const total = [...r.requests.values()].reduce((a, b) => a + b, 0);
  const failed = (st.failureCounts ?? []).map((f) => `${f.reason} ${f.count}`).join(', ');
  rows.push([
    label,
    `${st.nodesDesired}`,
    `${st.nodesReported} / ${st.nodesFailed}${failed ? ` (${failed})` : ''}`,
    `${r.published?.containers ?? 0} / ${r.expectedContainers}`,
    sec(r.applyToDaemonSetMs),
    sec(r.lastSettledToPublishedMs),
    sec(r.applyToPublishedMs),
    r.controllerPeaksMiB.map(mib).join(' → '),
    `${total} (${(total / (st.nodesDesired ?? 1)).toFixed(2)}/node)`,
    `${r.objects.scanResults} + ${r.objects.configMaps} CM, ${(r.objects.bytes / 1048576).toFixed(1)} MiB`,
    `${(r.objects.largest.bytes / 1024).toFixed(0)} KiB (${r.objects.largest.name.split(' ')[0]})`,
  ]);
  check(`${label} result exact`, () => {
    expect(st.phase).to.equal('Completed');
    expect(r.published?.containers).to.equal(r.expectedContainers);
    expect(r.published?.tree).to.deep.equal(r.expectedTree);
  });
  check(`${label} every object under 1 MiB`, () => expect(r.objects.largest.bytes).to.be.below(1024 * 1024));
  check(`${label} added nodes' reporters refused`, () =>
    expect(r.addedReporterErrors.every((e) => e !== '')).to.equal(true),
  );
  if (r.untargetedReporterErrors.length)
    say(
      `${label}: ${r.untargetedReporterErrors.length} planned node(s) not targeted by the run, their reporters refused`,
    );
  if (r.lateReporterErrors.length)
    say(`${label}: ${r.lateReporterErrors.length} node(s) ready only after the controller had failed them, refused`);
}
const header = [
  'run',
  'nodes',
  'reported / failed',
  'containers published / expected',
  'apply → DaemonSet',
  'last settled → published',
  'apply → published',
  'controller peak (VmHWM)',
  'API requests',
  'objects written',
  'largest object',
];
console.log(`\nController on ${N} simulated nodes (kwok), historyLimit 3:\n`);
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map(() => '---').join('|')}|`);
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
console.log(
  `\ncontroller peak before the restart (runs 1-3): ${mib(beforeRestart)}; restarted with 3 runs retained, ` +
    `at rest after its start-up sweep: ${mib(restartedAtRest)}; through run 4: ${mib(afterRestart)}`,
);
const byKind = new Map<string, number>();
for (const { r } of results.slice(1))
  for (const [k, v] of r.requests) byKind.set(k, (byKind.get(k) ?? 0) + v / (results.length - 1));
console.log('\nAPI requests per run by verb and resource (runs 2-4, mean):');
for (const [k, v] of [...byKind].sort((a, b) => b[1] - a[1]).slice(0, 25))
  console.log(`  ${v.toFixed(0).padStart(7)}  ${k}`);
const peak = Math.max(beforeRestart, afterRestart, ...results.flatMap(({ r }) => r.controllerPeaksMiB));
const memTarget = N <= 500 ? 200 : 400;
check(`controller peak ${mib(peak)} within ${memTarget} MiB`, () => expect(peak).to.be.at.most(memTarget));
if (N <= 500)
  for (const { label, r } of results)
    check(`${label} last settled → published within 3 s`, () => expect(r.lastSettledToPublishedMs).to.be.at.most(3000));
if (values.json)
  writeFileSync(
    values.json,
    JSON.stringify(
      {
        nodes: N,
        results: results.map(({ label, r }) => ({
          label,
          ...r,
          requests: Object.fromEntries(r.requests),
          expectedTree: undefined,
          published: { ...r.published, tree: undefined },
        })),
        beforeRestart,
        restartedAtRest,
        afterRestart,
      },
      null,
      1,
    ),
  );
rmSync(work, { recursive: true, force: true });
if (failures.length) {
  console.log(`\nFAILED:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
console.log('\nall targets met');
process.exit(0);
