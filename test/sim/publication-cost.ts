/**
 * What publishing a large result costs the controller, alone in a process with the Deployment's Node.js options:
 * NODES nodes' trees as the simulator writes them (16 containers each), merged, then sharded and compressed by
 * buildPublication. Prints the shards, the time and the process's peak resident memory (VmHWM) before and after.
 * No cluster needed:
 *   hack/node-runtime exec node --max-old-space-size=256 --max-semi-space-size=4 --import tsx \
 *     test/sim/publication-cost.ts [nodes]
 */
import { readFileSync } from 'node:fs';
import { mergeTrees } from '../../controller/reconcile/merge.js';
import { buildPublication } from '../../controller/publish/publish.js';
import { nodeTree } from './trees.js';

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
