/**
 * A simulated cluster for the controller at scale, on the project's real control plane started with CP_KWOK=1
 * (hack/control-plane): the real DaemonSet controller creates the scanner pods, the real scheduler places them, kwok
 * plays the kubelets (node status, leases, pods Running and Ready). Only the node scanner is simulated: for each
 * node whose scanner pod is Ready, the reporter's own code (`writeNodeStatus`) writes that node's ScanResult with the
 * reporter ServiceAccount's token, from a scan.json and report.json as the scanner would leave them.
 *
 * Faults, in the same runs: nodes whose kubelet is gone (never a ready pod), nodes whose scanner writes garbage,
 * nodes deleted and added while a run is going on, and the controller killed and started again mid-run. The
 * controller runs as its own process, as its ServiceAccount, so that its memory (VmHWM) is its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import {
  KubeConfig,
  type KubernetesObject,
  type V1ContainerImage,
  type V1Deployment,
  type V1Pod,
} from '@kubernetes/client-node';
import {
  GROUP,
  LABEL_RUN,
  RESULTS,
  SCANS,
  VERSION,
  type ContainerScan,
  type ScanResult,
} from '../../controller/api/resources.js';
import { daemonSetName, scanResultName } from '../../controller/api/names.js';
import { isConflict, isNotFound, makeClients, mergePatch, type Clients } from '../../controller/kube/clients.js';
import { paged, type Page } from '../../controller/kube/metadata.js';
import { BoundedWatch } from '../../controller/kube/timeouts.js';
import { writeNodeStatus } from '../../controller/reporter/write-status.js';
import { indexName, latestName, readPublication } from '../../controller/publish/publish.js';
import { mergeTrees } from '../../controller/reconcile/merge.js';
import type { HashedTree, RuntimeTree } from '../../controller/api/scan-tree.js';
import { inParallel } from '../../controller/util/parallel.js';
import { sleep } from '../../controller/util/sleep.js';
import { garbageScanJson, nodeReport, nodeTree } from './trees.js';
import { apply, ensureCrds, loadManifests, REPO, serviceAccountClients, waitFor } from '../integration/helpers.js';

/**
 * kwok manages the nodes with this label value (hack/control-plane CP_KWOK=1), and makes their pods ready unless the
 * node's name contains "-dead-".
 */
export const SIM_LABEL = 'containerscanner.io/sim';
export const NAMESPACE = 'container-scanner';
/** On every node but the dead ones: a scan selecting it runs without the faults of dead nodes. */
export const RUNTIME_OK_LABEL = 'containerscanner.io/sim-runtime-ok';
const CONTROLLER_SA = 'container-scanner-controller';
const REPORTER_SA = 'container-scanner-reporter';

export type Fate = 'good' | 'dead' | 'garbage';

export interface SimNode {
  name: string;
  fate: Fate;
}

/**
 * Deterministic choice of fates: every 20th node dead (5%: kubelet up, container runtime broken, so its scanner pod is
 * bound and never starts), every 100th (offset) garbage (1%).
 */
export function planNodes(prefix: string, count: number, from = 0): SimNode[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    const fate: Fate = n % 20 === 7 ? 'dead' : n % 100 === 42 ? 'garbage' : 'good';
    return { name: `${prefix}${fate === 'dead' ? '-dead' : ''}-${String(n).padStart(5, '0')}`, fate };
  });
}

/** The most images a kubelet lists in its Node's status (`nodeStatusMaxImages`, 50 by default). */
const NODE_STATUS_MAX_IMAGES = 50;

/**
 * The images a busy node's kubelet lists: each by digest and by tag, largest first. Deterministic per node; the size
 * of the list, not its names, is what matters here (8.6 KiB of a Node's 12.8).
 */
export function nodeImages(node: string): V1ContainerImage[] {
  return Array.from({ length: NODE_STATUS_MAX_IMAGES }, (_, i) => {
    const repo = `quay.io/example-${i % 7}/service-${String(i).padStart(2, '0')}`;
    const digest = createHash('sha256').update(`${node}/${i}`).digest('hex');
    return {
      names: [`${repo}@sha256:${digest}`, `${repo}:v1.${i}.${digest.charCodeAt(0) % 10}`],
      sizeBytes: 2_000_000_000 - i * 30_000_000,
    };
  });
}

/**
 * Nodes as a cloud provider and a kubelet would register them (labels, capacity, a full list of images); kwok gives
 * them their conditions and heartbeat and keeps the rest.
 */
export async function createNodes(admin: Clients, nodes: SimNode[]): Promise<void> {
  await inParallel(nodes, 16, async ({ name, fate }) => {
    const zone = `zone-${name.charCodeAt(name.length - 1) % 3}`;
    const resources = { cpu: '16', memory: '65536Mi', pods: '250', 'ephemeral-storage': '125Gi' };
    try {
      await admin.core.createNode({
        body: {
          metadata: {
            name,
            labels: {
              [SIM_LABEL]: 'kwok',
              ...(fate === 'dead' ? {} : { [RUNTIME_OK_LABEL]: 'true' }),
              'kubernetes.io/hostname': name,
              'kubernetes.io/os': 'linux',
              'kubernetes.io/arch': 'amd64',
              'node-role.kubernetes.io/worker': '',
              'node.kubernetes.io/instance-type': 'm6i.4xlarge',
              'topology.kubernetes.io/region': 'region-1',
              'topology.kubernetes.io/zone': zone,
            },
            annotations: {
              'kwok.x-k8s.io/node': 'fake',
              'node.alpha.kubernetes.io/ttl': '0',
              'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
            },
          },
          // A Node may be created with its status; kwok's stages fill in conditions, addresses and node info and
          // keep the rest (the 200-node test checks the images).
          status: { capacity: resources, allocatable: resources, images: nodeImages(name) },
        },
      });
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
  });
}

export async function deleteNodes(admin: Clients, names: string[]): Promise<void> {
  await inParallel(names, 16, async (name) => {
    try {
      await admin.core.deleteNode({ name });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  });
}

/**
 * Waits until kwok has made every node Ready and the node lifecycle controller has lifted the not-ready taint the
 * API server puts on a new node (until then the scanner DaemonSet would not target it).
 */
export async function waitNodesReady(admin: Clients, count: number, timeoutMs: number): Promise<void> {
  let ready = 0;
  let untainted = 0;
  await waitFor(
    `${count} kwok nodes Ready`,
    async () => {
      ready = 0;
      untainted = 0;
      const pages = paged((cont) =>
        admin.core.listNode({ labelSelector: `${SIM_LABEL}=kwok`, limit: 1000, ...(cont ? { _continue: cont } : {}) }),
      );
      for await (const nodes of pages)
        for (const n of nodes) {
          if (!n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
          ready++;
          if (!(n.spec?.taints ?? []).some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute')) untainted++;
        }
      return untainted >= count;
    },
    timeoutMs,
    // Each look lists every node whole (some 13 KiB each), on the API server that kwok's lease renewals need: at
    // thousands of nodes, one look every `count` ms (5 s at 5000).
    Math.max(1000, count),
  ).catch((e: unknown) => {
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(`${why} (at the last look: ${ready} Ready, ${untainted} of them untainted)`, { cause: e });
  });
}

/** The controller's namespace, CRDs and RBAC as config/default installs them (the Deployment aside). */
export async function install(admin: Clients): Promise<void> {
  await ensureCrds(admin.kc);
  await apply(admin.kc, [
    ...loadManifests(`${REPO}config/default/namespace.yaml`),
    ...loadManifests(`${REPO}config/default/rbac.yaml`),
  ]);
}

/** A kubeconfig file for a ServiceAccount (a token from the TokenRequest API, as a pod gets). */
export async function serviceAccountKubeconfig(
  admin: Clients,
  name: string,
  dir: string,
): Promise<{ file: string; clients: Clients }> {
  const clients = await serviceAccountClients(admin, NAMESPACE, name);
  const file = join(dir, `${name}.kubeconfig`);
  writeFileSync(file, clients.kc.exportConfig(), { mode: 0o600 });
  return { file, clients };
}

// ---- the controller process ----------------------------------------------------------------------------------

/** The controller as its own process; its peak resident memory is read from /proc (VmHWM) while it runs. */
export class ControllerProcess {
  private proc: ChildProcess | undefined;
  private sampler: NodeJS.Timeout | undefined;
  /** Highest VmHWM seen of the current process, in KiB. */
  peakKiB = 0;
  log = '';

  constructor(
    private readonly command: string[],
    private readonly env: Record<string, string>,
  ) {}

  start(): void {
    this.peakKiB = 0;
    const p = spawn(this.command[0]!, this.command.slice(1), {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.log += `--- controller process ${p.pid} started ${new Date().toISOString()}\n`;
    // stdout too: the controller logs to stderr, V8's tracing (SIM_CONTROLLER_NODE_FLAGS=--trace-gc) to stdout.
    const keep = (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-200_000);
      if (process.env.SIM_CONTROLLER_LOG) appendFileSync(process.env.SIM_CONTROLLER_LOG, d);
    };
    p.stdout.on('data', keep);
    p.stderr.on('data', keep);
    this.proc = p;
    this.sampler = setInterval(() => this.sample(), 100);
    this.sampler.unref();
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  sample(): void {
    if (!this.proc?.pid) return;
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.proc.pid}/status`, 'utf8'));
      const hwm = Number(m?.[1] ?? 0);
      // Each new MiB of the peak goes to the log, to place it among the controller's own lines.
      if (process.env.SIM_CONTROLLER_LOG && hwm >= this.peakKiB + 1024)
        appendFileSync(process.env.SIM_CONTROLLER_LOG, `[sim] ${new Date().toISOString()} VmHWM ${hwm >> 10} MiB\n`);
      this.peakKiB = Math.max(this.peakKiB, hwm);
    } catch {
      /* gone */
    }
  }

  /** Stops it (SIGKILL for a crash, SIGTERM for a graceful stop); returns its peak in MiB. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
    const p = this.proc;
    this.sample();
    if (this.sampler) clearInterval(this.sampler);
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill(signal);
      await Promise.race([exited, sleep(15_000)]);
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    }
    this.proc = undefined;
    return this.peakKiB / 1024;
  }

  get exited(): boolean {
    return !this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null;
  }
}

// ---- API server request counts --------------------------------------------------------------------------------

/** apiserver_request_total from the API server's own /metrics, by "VERB resource[/subresource]". */
export async function requestCounts(kc: KubeConfig): Promise<Map<string, number>> {
  const cluster = kc.getCurrentCluster()!;
  const opts: Record<string, unknown> = {};
  await kc.applyToHTTPSOptions(opts);
  const body = await new Promise<string>((resolve, reject) => {
    const req = request(`${cluster.server}/metrics`, { ...opts, method: 'GET' }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (data += d));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(data) : reject(new Error(`/metrics: HTTP ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
  const counts = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = new Map([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] ?? '', m[2] ?? '']));
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    const [verb, resource, sub] = [labels.get('verb'), labels.get('resource'), labels.get('subresource')];
    if (verb === 'WATCH' || verb === 'CONNECT') continue;
    const key = `${verb ?? ''} ${resource ?? ''}${sub ? `/${sub}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + value);
  }
  return counts;
}

export function countDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const d = new Map<string, number>();
  for (const [k, v] of after) {
    const n = v - (before.get(k) ?? 0);
    if (n > 0) d.set(k, n);
  }
  return d;
}

// ---- one run ------------------------------------------------------------------------------------------------

export interface RunPlan {
  admin: Clients;
  reporter: Clients;
  controller: ControllerProcess;
  scan: string;
  /** Every node, with its fate; nodes deleted by earlier runs are gone from it. */
  nodes: SimNode[];
  /** Starts the run: creates the ContainerScan or changes a field that shapes a run. */
  start: () => Promise<void>;
  workDir: string;
  /** Nodes deleted while the run is going on, and nodes added. */
  deleteDuring?: number;
  addDuring?: SimNode[];
  /** Kill the controller (SIGKILL) when this share of the good nodes has reported, and start it again. */
  restartAt?: number;
  reportConcurrency?: number;
  timeoutMs: number;
}

export interface RunResult {
  run: string;
  status: ContainerScan['status'];
  applyToDaemonSetMs: number;
  lastSettledToPublishedMs: number;
  applyToPublishedMs: number;
  /** Controller peak resident memory (MiB), of each process that ran during the run. */
  controllerPeaksMiB: number[];
  requests: Map<string, number>;
  /** Nodes that reported good trees and were counted Reported; their trees, as the reporters were given them. */
  expectedTree: HashedTree;
  expectedContainers: number;
  published: { containers: number; tree: HashedTree; shards: number } | undefined;
  deleted: string[];
  added: string[];
  /** Reporters on nodes added mid-run: what their writes ended with (each must be refused). */
  addedReporterErrors: string[];
  /**
   * Planned nodes the run did not target (e.g. tainted not-ready by a late kwok heartbeat when the run listed the
   * nodes), whose scanner pod the DaemonSet still placed: their reporters are refused like the added nodes'.
   */
  untargetedReporterErrors: string[];
  /**
   * Targeted nodes whose pod became ready only after the controller had settled them (failed at the readiness
   * deadline, or the run over and its Role gone): their reporters are refused, as a real late reporter is.
   */
  lateReporterErrors: string[];
  objects: { scanResults: number; configMaps: number; bytes: number; largest: { name: string; bytes: number } };
}

/**
 * Watches a collection and calls back with each event (bookmarks too), until stopped. Bounded as the controller's
 * watches are: client-node's own Watch would end a watch after 30 s without an event.
 */
async function watchAll(
  kc: KubeConfig,
  path: string,
  query: Record<string, string>,
  onEvent: (type: string, o: KubernetesObject) => void,
): Promise<() => void> {
  let stopped = false;
  let ctl: AbortController | undefined;
  const loop = async () => {
    while (!stopped) {
      await new Promise<void>((done) => {
        void new BoundedWatch(kc).watch(path, query, onEvent, () => done()).then((c) => (ctl = c));
      });
      if (!stopped) await sleep(500);
    }
  };
  void loop();
  return () => {
    stopped = true;
    ctl?.abort();
  };
}

async function getScan(admin: Clients, name: string): Promise<ContainerScan> {
  return (await admin.custom.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: NAMESPACE,
    plural: SCANS,
    name,
  })) as ContainerScan;
}

export async function oneRun(p: RunPlan): Promise<RunResult> {
  const stops: (() => void)[] = [];
  try {
    return await runWatched(p, stops);
  } finally {
    // Also when the run fails: a watch left running would keep the test process alive.
    for (const stop of stops) stop();
  }
}

async function runWatched(p: RunPlan, stops: (() => void)[]): Promise<RunResult> {
  const { admin } = p;
  const before = (await getScan(admin, p.scan).catch(() => undefined))?.status?.runNumber ?? 0;
  const run = `${p.scan}-${before + 1}`;
  const byName = new Map(p.nodes.map((n) => [n.name, n]));
  const reported = new Set<string>();
  const deleted: string[] = [];
  const added = (p.addDuring ?? []).map((n) => n.name);
  const addedReporterErrors: string[] = [];
  const untargetedReporterErrors: string[] = [];
  const lateReporterErrors: string[] = [];
  const runEntry = async (node: string) =>
    ((await getScan(admin, p.scan)).status?.nodes ?? []).find((n) => n.name === node);
  const trees = new Map<string, RuntimeTree>();
  let lastReportAt = 0;
  let dsAt = 0;
  let publishedAt = 0;
  const peaks: number[] = [];
  const dir = join(p.workDir, run);
  mkdirSync(dir, { recursive: true });

  const readyQueue: string[] = [];
  const seenReady = new Set<string>();
  const podsOfRun = { labelSelector: `${LABEL_RUN}=${run}` };
  stops.push(
    await watchAll(admin.kc, `/api/v1/namespaces/${NAMESPACE}/pods`, podsOfRun, (_, o) => {
      const pod = o as V1Pod;
      const node = pod.spec?.nodeName;
      const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      if (node && ready && !seenReady.has(node)) {
        seenReady.add(node);
        readyQueue.push(node);
      }
    }),
  );
  stops.push(
    await watchAll(admin.kc, `/apis/apps/v1/namespaces/${NAMESPACE}/daemonsets`, {}, (t, o) => {
      if (t === 'ADDED' && o.metadata?.name === daemonSetName(run) && !dsAt) dsAt = Date.now();
    }),
  );
  stops.push(
    await watchAll(admin.kc, `/api/v1/namespaces/${NAMESPACE}/configmaps`, {}, (t, o) => {
      if (t === 'ADDED' && o.metadata?.name === indexName(run) && !publishedAt) publishedAt = Date.now();
    }),
  );
  const counts0 = await requestCounts(admin.kc);
  const appliedAt = Date.now();
  await p.start();

  const report = async (node: string) => {
    const sim = byName.get(node);
    const nodeDir = join(dir, node);
    mkdirSync(nodeDir, { recursive: true });
    const scanPath = join(nodeDir, 'scan.json');
    const reportPath = join(nodeDir, 'report.json');
    const tree = nodeTree(node, run);
    writeFileSync(scanPath, sim?.fate === 'garbage' ? garbageScanJson(node) : JSON.stringify(tree));
    writeFileSync(reportPath, JSON.stringify(nodeReport(node, tree)));
    const opts = { scanPath, reportPath, node, namespace: NAMESPACE, run };
    try {
      if (!sim) {
        // A node that joined during the run: no ScanResult, no permission; the reporter gives up.
        await writeNodeStatus(p.reporter, { ...opts, retryForMs: 2000 });
        addedReporterErrors.push('');
      } else {
        const st = await writeNodeStatus(p.reporter, opts);
        if (st.phase === 'Reported') trees.set(node, tree);
        reported.add(node);
        lastReportAt = Date.now();
      }
    } catch (e) {
      const refused = `${node}: ${(e as Error).message}`;
      if (!sim) addedReporterErrors.push((e as Error).message);
      else {
        // A refusal is a bug only for a node the run still waits for.
        const entry = await runEntry(node);
        if (!entry) untargetedReporterErrors.push(refused);
        else if (entry.phase === 'Failed') lateReporterErrors.push(refused);
        else throw e;
      }
    } finally {
      rmSync(nodeDir, { recursive: true, force: true });
    }
  };

  const goodCount = p.nodes.filter((n) => n.fate !== 'dead').length;
  let restarted = p.restartAt === undefined;
  let faulted = !p.deleteDuring && !p.addDuring?.length;
  const inFlight = new Set<Promise<void>>();
  const deadline = Date.now() + p.timeoutMs;
  let status: ContainerScan['status'];
  for (;;) {
    if (Date.now() > deadline)
      throw new Error(`run ${run} not finished in ${p.timeoutMs} ms; its log:\n${p.controller.log.slice(-5000)}`);
    while (readyQueue.length && inFlight.size < (p.reportConcurrency ?? 32)) {
      const node = readyQueue.shift()!;
      if (deleted.includes(node) || byName.get(node)?.fate === 'dead') continue;
      const job: Promise<void> = report(node).finally(() => inFlight.delete(job));
      inFlight.add(job);
    }
    if (!faulted && dsAt) {
      faulted = true;
      // Nodes go away (scale-down, failure) and join while the run is on.
      const victims = p.nodes.filter((n) => n.fate === 'good' && !seenReady.has(n.name)).slice(-(p.deleteDuring ?? 0));
      for (const v of victims) deleted.push(v.name);
      await deleteNodes(admin, deleted);
      if (p.addDuring?.length) await createNodes(admin, p.addDuring);
    }
    if (!restarted && reported.size >= goodCount * p.restartAt!) {
      restarted = true;
      peaks.push(await p.controller.stop('SIGKILL'));
      p.controller.start();
    }
    if (p.controller.exited)
      throw new Error(`the controller exited during run ${run}:\n${p.controller.log.slice(-5000)}`);
    const scan = await getScan(admin, p.scan);
    const over = scan.status?.phase === 'Completed' || scan.status?.phase === 'Failed';
    if (scan.status?.run === run && over && inFlight.size === 0) {
      status = scan.status;
      break;
    }
    await sleep(250);
  }
  await Promise.all([...inFlight]);
  const counts1 = await requestCounts(admin.kc);
  // Reporters on nodes that joined mid-run give up after a moment; wait for their verdicts.
  const addedDone = async () => addedReporterErrors.length >= readyAmong(seenReady, added);
  await waitFor('the reporters of added nodes', addedDone, 15_000);
  p.controller.sample();
  peaks.push(p.controller.peakKiB / 1024);

  // What the reporters were given, for the nodes the run counted as reported.
  const reportedNodes = new Set((status?.nodes ?? []).filter((n) => n.phase === 'Reported').map((n) => n.name));
  const expected = mergeTrees([...trees].filter(([n]) => reportedNodes.has(n)).map(([node, tree]) => ({ node, tree })));
  let published: RunResult['published'];
  if (status?.result?.run === run) {
    const index = await admin.core.readNamespacedConfigMap({ namespace: NAMESPACE, name: indexName(run) });
    const shards = await Promise.all(
      (JSON.parse(index.data!['index.json']!) as { shards: { name: string }[] }).shards.map((s) =>
        admin.core.readNamespacedConfigMap({ namespace: NAMESPACE, name: s.name }),
      ),
    );
    const pub = readPublication(index, shards);
    published = { containers: pub.index.containers, tree: pub.tree, shards: pub.index.shards.length };
  }
  const objects = await runObjects(admin, run, p.scan);
  const startMs = Date.parse(status?.startTime ?? '');
  const settledAt = Math.max(lastReportAt, deadlineOf(status, startMs));
  return {
    run,
    status,
    applyToDaemonSetMs: dsAt - appliedAt,
    lastSettledToPublishedMs: publishedAt - settledAt,
    applyToPublishedMs: publishedAt - appliedAt,
    controllerPeaksMiB: peaks,
    requests: countDelta(counts0, counts1),
    expectedTree: expected.tree,
    expectedContainers: expected.containers,
    published,
    deleted,
    added,
    addedReporterErrors,
    untargetedReporterErrors,
    lateReporterErrors,
    objects,
  };
}

function readyAmong(seen: Set<string>, names: string[]): number {
  return names.filter((n) => seen.has(n)).length;
}

/**
 * When the last node whose fate a deadline decided was settled: the readiness deadline when a node failed as not
 * ready, the scan deadline when one timed out (the controller acts at that moment, on its own timer).
 */
function deadlineOf(status: ContainerScan['status'], startMs: number): number {
  const reasons = new Set((status?.failureCounts ?? []).map((f) => f.reason));
  let t = 0;
  if (reasons.has('NodeNotReady')) t = Math.max(t, startMs + timeouts.readinessMs);
  if (reasons.has('NodeTimedOut')) t = Math.max(t, startMs + timeouts.scanMs);
  return t;
}

/** The run's timeouts, set by the caller from the spec it applies. */
export const timeouts = { readinessMs: 0, scanMs: 0 };

/** How many objects of the run are stored and how big they are (as JSON), the largest named. */
async function runObjects(admin: Clients, run: string, scan: string): Promise<RunResult['objects']> {
  let bytes = 0;
  let scanResults = 0;
  let largest = { name: '', bytes: 0 };
  const seen = (name: string, o: unknown) => {
    const n = Buffer.byteLength(JSON.stringify(o));
    bytes += n;
    if (n > largest.bytes) largest = { name, bytes: n };
  };
  const pages = paged(
    (cont) =>
      admin.custom.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: NAMESPACE,
        plural: RESULTS,
        labelSelector: `${LABEL_RUN}=${run}`,
        limit: 100,
        ...(cont ? { _continue: cont } : {}),
      }) as Promise<Page<ScanResult>>,
  );
  for await (const results of pages)
    for (const r of results) {
      scanResults++;
      seen(`ScanResult ${r.metadata.name}`, r);
    }
  const cms = await admin.core.listNamespacedConfigMap({ namespace: NAMESPACE, labelSelector: `${LABEL_RUN}=${run}` });
  for (const cm of cms.items) seen(`ConfigMap ${cm.metadata!.name}`, cm);
  const latest = await admin.core
    .readNamespacedConfigMap({ namespace: NAMESPACE, name: latestName(scan) })
    .catch(() => undefined);
  // The pointer carries the labels of the run it points at: counted once.
  const pointerApart = latest && !cms.items.some((cm) => cm.metadata?.name === latestName(scan));
  if (pointerApart) seen(`ConfigMap ${latestName(scan)}`, latest);
  seen(`ContainerScan ${scan}`, await getScan(admin, scan));
  return { scanResults, configMaps: cms.items.length + (pointerApart ? 1 : 0), bytes, largest };
}

/** The ContainerScan of the simulation, created or changed (a changed readinessTimeout starts the next run). */
export async function applyScan(admin: Clients, name: string, spec: ContainerScan['spec']): Promise<void> {
  try {
    await admin.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NAMESPACE,
      plural: SCANS,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'ContainerScan',
        metadata: { name, namespace: NAMESPACE },
        spec,
      },
    });
  } catch (e) {
    if (!isConflict(e)) throw e;
    await admin.custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: NAMESPACE, plural: SCANS, name, body: { spec } },
      mergePatch,
    );
  }
}

export function adminClients(kubeconfig: string): Clients {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return makeClients(kc);
}

/**
 * The controller of the simulation, as its ServiceAccount: `node <main.js> controller --no-leader-elect` (compiled
 * JavaScript for the benchmark, the TypeScript through tsx for the test).
 */
export function controllerProcess(main: string[], kubeconfig: string, port: number): ControllerProcess {
  // SIM_CONTROLLER_NODE_FLAGS: Node.js flags to look into its memory (e.g. --trace-gc, written to SIM_CONTROLLER_LOG),
  // on the command line: NODE_OPTIONS refuses V8's tracing flags.
  const flags = (process.env.SIM_CONTROLLER_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const command = [process.execPath, ...flags, ...main, 'controller', '--no-leader-elect', '--port', String(port)];
  return new ControllerProcess(command, {
    // As deployed: the Deployment's Node.js options (heap size) and malloc tunables apply to the measured process too.
    ...deployedMemoryEnv(),
    KUBECONFIG: kubeconfig,
    POD_NAMESPACE: NAMESPACE,
    SCANNER_IMAGE: 'localhost/container-scanner/scanner:sim',
    REPORTER_IMAGE: 'localhost/container-scanner/controller:sim',
    REPORTER_SERVICE_ACCOUNT: REPORTER_SA,
    LOG_LEVEL: 'info',
  });
}

/** The variables of the controller container in config/default's Deployment that size its memory. */
export function deployedMemoryEnv(): { NODE_OPTIONS: string; GLIBC_TUNABLES?: string } {
  const [deployment] = loadManifests(`${REPO}config/default/controller-deployment.yaml`) as V1Deployment[];
  const env = deployment?.spec?.template.spec?.containers.find((c) => c.name === 'controller')?.env ?? [];
  const value = (name: string) => env.find((e) => e.name === name)?.value;
  const options = value('NODE_OPTIONS');
  if (!options) throw new Error('config/default/controller-deployment.yaml sets no NODE_OPTIONS for the controller');
  const tunables = value('GLIBC_TUNABLES');
  return { NODE_OPTIONS: options, ...(tunables ? { GLIBC_TUNABLES: tunables } : {}) };
}

export const SERVICE_ACCOUNTS = { controller: CONTROLLER_SA, reporter: REPORTER_SA };

/** Names of ScanResults by node for a run (for assertions). */
export const resultName = scanResultName;
