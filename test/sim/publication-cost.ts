/**
 * What publishing a large result costs the controller, alone in a process with the Deployment's memory settings
 * (its NODE_OPTIONS and GLIBC_TUNABLES, read from config/default: the script runs itself again under them):
 * NODES nodes' trees as the simulator writes them (16 containers each), merged, then sharded and compressed by
 * buildPublication. Prints the shards, the time and the process's peak resident memory (VmHWM) before and after.
 * No cluster needed:
 *   hack/node-runtime exec npx tsx test/sim/publication-cost.ts [nodes]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mergeTrees } from '../../controller/reconcile/merge.js';
import { buildPublication } from '../../controller/publish/publish.js';
import { nodeTree } from './trees.js';

const UNDER_DEPLOYMENT_SETTINGS = 'PUBLICATION_COST_CHILD';
if (!process.env[UNDER_DEPLOYMENT_SETTINGS]) {
  // Imported here only: the simulator loads the Kubernetes client, which the measured process must not hold.
  const { deployedMemoryEnv } = await import('./simulator.js');
  const settings = deployedMemoryEnv();
  console.log(
    `with the Deployment's ${Object.entries(settings)
      .map(([k, v]) => `${k}="${v}"`)
      .join(' ')}`,
  );
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, ...settings, [UNDER_DEPLOYMENT_SETTINGS]: '1' },
  });
  process.exit(child.status ?? 1);
}

const N = Number(process.argv[2] ?? 4700);
const status = (key: string) =>
  Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync('/proc/self/status', 'utf8'))![1]);
const mib = (kib: number) => Math.round(kib / 1024);

const names = Array.from({ length: N }, (_, i) => `sim-${String(i).padStart(5, '0')}`);
const merged = mergeTrees(names.map((node) => ({ node, tree: nodeTree(node, 'cost-1') })));
const before = status('VmHWM');
const started = process.hrtime.bigint();
const pub = buildPublication({
  namespace: 'container-scanner',
  scan: 'cost',
  run: 'cost-1',
  completedAt: new Date(),
  tree: merged.tree,
  nodes: { targeted: N, reported: N, failed: 0 },
  errors: [],
  labels: {},
});
const ms = Number(process.hrtime.bigint() - started) / 1e6;
console.log(
  `${N} nodes, ${pub.index.containers} containers: ${pub.index.shards.length} shards in ${ms.toFixed(0)} ms; ` +
    `peak RSS ${mib(before)} MiB before publishing, ${mib(status('VmHWM'))} MiB after`,
);
