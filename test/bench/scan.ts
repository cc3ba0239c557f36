// Benchmark of the node scanner on real containers (root; `make bench`, results in docs/benchmarks.md).
// Starts a private containerd, creates PODS pods of four containers each (an app: a Temurin JVM in every
// fifth pod, else a static Go program; a Go sidecar; a Debian-like and a scratch container), runs
// bin/scan-containers RUNS times over exactly those containers and prints, from each run's report: wall
// time, CPU time per container (coordinator and every sandbox, from the scanner's own getrusage), the
// coordinator's own peak memory (its VmHWM, not a parent's), per-container times and the analyzers' peak
// memory. Exits 1 when a target is missed.
//
// usage: hack/bench-scan [--pods N] [--runs N] [--concurrency N]
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as h from '../e2e/harness.js';

/** Targets (issue 13): 1000 containers in at most 1 s on 2 cores at most 1 ms of CPU each; the seed's
 *  ~200 ms per container; the analyzer and the coordinator small whatever the containers hold. */
const TARGET_WALL_MS_PER_1000 = 1000;
const TARGET_CPU_MS_PER_CONTAINER = 1;
const TARGET_P95_CONTAINER_MS = 200;
const TARGET_ANALYZER_MAX_RSS_KB = 64 * 1024;
const TARGET_COORDINATOR_MAX_RSS_KB = 64 * 1024;
/** cri-pods gives each call five minutes; containerd starts about one pod per second on a busy machine. */
const PODS_PER_CREATE = 25;
const STARTED_TIMEOUT_MS = 300_000;

/** The report keys this benchmark reads (README: `--report`). */
interface BenchReport extends h.Report {
  durationMs: number;
  cpuMs: number;
  coordinatorMaxRssKb: number;
}

const { values } = parseArgs({
  options: {
    pods: { type: 'string', default: '250' },
    runs: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: String(availableParallelism()) },
  },
});
const pods = Number(values.pods);
const runs = Number(values.runs);
const concurrency = Number(values.concurrency);
if (![pods, runs, concurrency].every((n) => Number.isInteger(n) && n > 0))
  throw new Error('--pods, --runs and --concurrency take positive integers');
if (process.getuid?.() !== 0) throw new Error('hack/bench-scan needs root');
process.env.E2E_STATE ??= '/run/container-scanner-bench';

function podSpec(i: number): h.PodSpec {
  const image = (name: string): string => `docker.io/library/${name}:latest`;
  return {
    namespace: 'bench',
    name: `pod-${i}`,
    containers: [
      { name: 'app', image: image(i % 5 === 0 ? 'e2e-java' : 'e2e-go'), command: [] },
      { name: 'sidecar', image: image('e2e-go'), command: [] },
      { name: 'debian', image: image('e2e-debian'), command: ['/bin/sleep', '3600'] },
      { name: 'scratch', image: image('e2e-scratch'), command: ['/bin/sleep', '3600'] },
    ],
  };
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The program each image runs. */
const WORKLOAD: Record<string, string> = {
  'e2e-java': 'java',
  'e2e-go': 'greeter',
  'e2e-debian': 'sleep',
  'e2e-scratch': 'sleep',
};

/** A workload has started once its process runs its image's program (not the runtime's init any more); a
 *  JVM once it has mapped libjvm.so (what the scanner recognises a JVM by). */
function started(c: h.CreatedContainer): boolean {
  const image = /library\/([^:]+):/.exec(c.image)?.[1] ?? '';
  const comm = read(`/proc/${c.pid}/comm`).trim();
  if (comm !== WORKLOAD[image]) return false;
  return comm !== 'java' || read(`/proc/${c.pid}/maps`).includes('/libjvm.so');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.round((p / 100) * (sorted.length - 1)))] ?? NaN;
}

function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

async function main(): Promise<number> {
  const env = await h.up();
  const walls: number[] = [];
  const cpuPerContainer: number[] = [];
  const coordinatorRss: number[] = [];
  const perContainer: number[] = [];
  const analyzerRss: number[] = [];
  const loads: number[] = [];
  let containers: number;
  try {
    for (const image of ['pause', 'e2e-java', 'e2e-go', 'e2e-debian', 'e2e-scratch']) await h.buildImage(env, image);
    const created: h.CreatedPod[] = [];
    for (let first = 0; first < pods; first += PODS_PER_CREATE) {
      const batch = Array.from({ length: Math.min(PODS_PER_CREATE, pods - first) }, (_, k) => podSpec(first + k));
      created.push(...(await h.createPods(env, batch)));
    }
    const all = created.flatMap((p) => p.containers);
    containers = all.length;
    await h.waitFor(`${containers} workloads to start`, () => all.every(started), STARTED_TIMEOUT_MS);
    const ids = all.map((c) => c.id).join(',');
    for (let run = 0; run < runs; run++) {
      const scan = await h.scan(env, ['--concurrency', String(concurrency), '--container-ids', ids]);
      if (scan.code !== 0) throw new Error(`scan-containers failed (${scan.code}): ${scan.stderr.slice(-2000)}`);
      const report = scan.report as BenchReport;
      const mine = report.containers.filter((c) => c.namespace === 'bench');
      const failed = mine.filter((c) => c.status !== 'scanned');
      if (mine.length !== containers || failed.length > 0)
        throw new Error(
          `expected ${containers} scanned bench containers, got ${mine.length - failed.length}: ` +
            failed.map((c) => `${c.pod}/${c.container ?? c.id}: ${c.error ?? ''}`).join('; '),
        );
      walls.push(report.durationMs);
      cpuPerContainer.push(report.cpuMs / containers);
      coordinatorRss.push(report.coordinatorMaxRssKb);
      perContainer.push(...mine.map((c) => c.durationMs ?? 0));
      analyzerRss.push(...mine.map((c) => c.analyzerMaxRssKb ?? 0));
      loads.push(loadavg()[0] ?? 0);
    }
  } finally {
    await h.deleteAllPods(env).catch(() => undefined);
    await h.down();
  }

  const times = [...perContainer].sort((a, b) => a - b);
  const wallTarget = (TARGET_WALL_MS_PER_1000 * containers) / 1000;
  const rows: [string, string, string][] = [
    ['containers per run', `${containers} (${pods} pods x 4)`, ''],
    ['concurrency', `${concurrency}`, ''],
    ['wall time per run: median (min)', `${median(walls)} ms (${Math.min(...walls)} ms)`, `<= ${wallTarget} ms`],
    [
      'CPU per container, coordinator and sandboxes: median (min)',
      `${median(cpuPerContainer).toFixed(2)} ms (${Math.min(...cpuPerContainer).toFixed(2)} ms)`,
      `<= ${TARGET_CPU_MS_PER_CONTAINER} ms`,
    ],
    [
      'per container p50 / p95 / max',
      `${percentile(times, 50)} / ${percentile(times, 95)} / ${times.at(-1)} ms`,
      `p95 <= ${TARGET_P95_CONTAINER_MS} ms`,
    ],
    [
      'analyzer peak RSS max',
      `${(Math.max(...analyzerRss) / 1024).toFixed(1)} MiB`,
      `<= ${TARGET_ANALYZER_MAX_RSS_KB / 1024} MiB`,
    ],
    [
      'coordinator peak RSS (its VmHWM), max of runs',
      `${(Math.max(...coordinatorRss) / 1024).toFixed(1)} MiB`,
      `<= ${TARGET_COORDINATOR_MAX_RSS_KB / 1024} MiB`,
    ],
    ['machine load (1 min) after the runs: median', `${median(loads).toFixed(1)}`, ''],
  ];
  console.log('| measure | value | target |\n|---|---|---|');
  for (const [measure, value, target] of rows) console.log(`| ${measure} | ${value} | ${target} |`);
  const missed = [
    median(walls) > wallTarget && 'wall time',
    median(cpuPerContainer) > TARGET_CPU_MS_PER_CONTAINER && 'CPU per container',
    percentile(times, 95) > TARGET_P95_CONTAINER_MS && 'per-container p95',
    Math.max(...analyzerRss) > TARGET_ANALYZER_MAX_RSS_KB && 'analyzer memory',
    Math.max(...coordinatorRss) > TARGET_COORDINATOR_MAX_RSS_KB && 'coordinator memory',
  ].filter(Boolean);
  if (missed.length > 0) {
    console.error(`targets missed: ${missed.join(', ')}`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
