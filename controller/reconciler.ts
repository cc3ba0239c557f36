/**
 * Reconciles one ContainerScan: reads it fresh, decides with the pure state machine (runstate.ts), performs the
 * actions (all idempotent), writes the status with optimistic concurrency and emits Events. Everything a run
 * needs to resume lives in the status, so a restarted controller picks a run up where it was.
 */
import type { V1ConfigMap, V1DaemonSet, V1Pod } from '@kubernetes/client-node';
import {
  API_VERSION,
  GROUP,
  LABEL_COMPONENT,
  LABEL_RUN,
  LABEL_SCAN,
  RESULTS,
  SCANS,
  VERSION,
  type ContainerScan,
  type ContainerScanStatus,
  type ScanResult,
} from './api.js';
import { ownerRef, renderDaemonSet, runLabels, type Images } from './daemonset.js';
import { createIfAbsent, deleteIfPresent, describeError, isConflict, isNotFound, type Clients } from './kube.js';
import { log } from './log.js';
import { mergeTrees } from './merge.js';
import type { Metrics } from './metrics.js';
import { daemonSetName, reporterRoleName } from './names.js';
import { isTargeted } from './nodes.js';
import { buildLatest, buildPublication, indexName, latestName } from './publish.js';
import { checkSpec, invalid, runDue, startRun, step, systemClock, type Action, type Clock, type Observed } from './runstate.js';
import { stableStringify } from './util.js';

export interface ReconcilerOptions {
  clients: Clients;
  template: V1DaemonSet;
  /** Images used when the ContainerScan does not name its own. */
  images: Images;
  reporterServiceAccount?: string;
  clock?: Clock;
  metrics?: Metrics;
  /** Names this controller instance in Events. */
  identity?: string;
  maxShardBytes?: number;
}

const MAX_CONFLICT_RETRIES = 5;
/** Errors kept in the ContainerScan status (the published index keeps more); the status must stay small. */
export const MAX_STATUS_ERRORS = 50;

export function capErrors(errors: string[] | undefined): string[] | undefined {
  if (!errors) return errors;
  // An earlier cap left a marker; count what it stood for and cap again.
  let hidden = 0;
  const plain = errors.filter((e) => {
    const m = /^… and (\d+) more errors/.exec(e);
    if (m) hidden += Number(m[1]);
    return !m;
  });
  if (plain.length + (hidden ? 1 : 0) <= MAX_STATUS_ERRORS) return hidden ? [...plain, marker(hidden)] : plain;
  const kept = plain.slice(0, MAX_STATUS_ERRORS - 1);
  return [...kept, marker(hidden + plain.length - kept.length)];
}

function marker(n: number): string {
  return `… and ${n} more errors (see the published index)`;
}

/** Run number encoded at the end of a run name ("<scan>-<n>"). */
function runNumberOf(run: string | undefined): number {
  const m = /-(\d+)$/.exec(run ?? '');
  return m ? Number(m[1]) : -1;
}

export class Reconciler {
  private readonly c: Clients;
  private readonly clock: Clock;
  private readonly rbacDone = new Set<string>();

  constructor(private readonly o: ReconcilerOptions) {
    this.c = o.clients;
    this.clock = o.clock ?? systemClock;
  }

  /** Returns when to look again (ms), or undefined when only an event should wake this scan. */
  async reconcile(namespace: string, name: string): Promise<number | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        const requeue = await this.once(namespace, name);
        this.o.metrics?.reconciles.inc({ result: 'ok' });
        return requeue;
      } catch (e) {
        if (isConflict(e) && attempt < MAX_CONFLICT_RETRIES) {
          log.debug('status conflict; reconciling again with a fresh read', { namespace, name, attempt });
          continue;
        }
        this.o.metrics?.reconciles.inc({ result: 'error' });
        throw new Error(`reconcile ${namespace}/${name}: ${describeError(e)}`, { cause: e });
      }
    }
  }

  private async once(namespace: string, name: string): Promise<number | undefined> {
    let scan = await this.getScan(namespace, name);
    if (!scan || scan.metadata.deletionTimestamp) return undefined; // owner references take the run's objects along
    const now = this.clock.now();
    const checked = checkSpec(scan);
    if ('error' in checked) {
      const st = invalid(scan, checked.error, now);
      if (stableStringify(st) !== stableStringify(scan.status ?? {})) {
        await this.writeStatus(scan, st);
        await this.event(scan, 'Warning', 'InvalidSpec', checked.error);
      }
      return undefined;
    }

    const due = runDue(scan, now);
    if (due) {
      await this.pruneLeftovers(scan, scan.status?.runNumber ?? 0);
      const nodes = await this.targetNodes(scan);
      const status = startRun(scan, nodes, now);
      scan = await this.writeStatus(scan, status);
      this.o.metrics?.runsStarted.inc({ scan: `${namespace}/${name}` });
      log.info('run started', { scan: `${namespace}/${name}`, run: status.run, reason: due, nodes: nodes.length });
      await this.event(scan, 'Normal', 'RunStarted', `run ${status.run} started (${due}) on ${nodes.length} node(s)`);
    }

    const phase = scan.status?.phase;
    const active = phase === 'Running' || phase === 'TearingDown';
    const seen = active ? await this.observe(scan) : { observed: { reports: new Map(), readyNodes: new Set<string>(), runObjectsGone: true }, results: [], daemonSet: false };
    if (!active) await this.pruneLeftovers(scan, scan.status?.runNumber ?? 0);
    const d = step(scan, seen.observed, now, checked.timeouts);
    const events: Extract<Action, { type: 'event' }>[] = [];
    for (const a of d.actions) {
      switch (a.type) {
        case 'ensureRunObjects':
          await this.ensureRunObjects(scan, seen.results, seen.daemonSet);
          break;
        case 'publish': {
          const result = await this.publish(scan, d.status, seen.results, now);
          if (result) d.status.result = result;
          else delete d.status.result;
          break;
        }
        case 'deleteRunObjects':
          await this.deleteRunObjects(scan);
          break;
        case 'forcePrune':
          await this.forcePrune(scan);
          break;
        case 'publishLatest':
          await this.publishLatest(scan, d.status);
          break;
        case 'pruneHistory':
          await this.pruneHistory(scan);
          break;
        case 'event':
          events.push(a);
          break;
      }
    }
    d.status.errors = capErrors(d.status.errors);
    if (stableStringify(d.status) !== stableStringify(scan.status ?? {})) scan = await this.writeStatus(scan, d.status);
    for (const e of events) {
      if (e.reason.startsWith('Node')) this.o.metrics?.nodesFailed.inc({ reason: e.reason });
      if (e.reason === 'Completed') this.o.metrics?.runsCompleted.inc({ errors: String((d.status.errors ?? []).length > 0) });
      await this.event(scan, e.kind, e.reason, e.message);
    }
    return d.requeueAfterMs;
  }

  // ---- reading -----------------------------------------------------------------------------------------------

  private async getScan(namespace: string, name: string): Promise<ContainerScan | undefined> {
    try {
      return (await this.c.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: SCANS, name })) as ContainerScan;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async targetNodes(scan: ContainerScan): Promise<string[]> {
    const names: string[] = [];
    let _continue: string | undefined;
    do {
      const page = await this.c.core.listNode({ limit: 500, ...(_continue ? { _continue } : {}) });
      for (const n of page.items) if (n.metadata?.name && isTargeted(n, scan.spec.nodeSelector, scan.spec.tolerations)) names.push(n.metadata.name);
      _continue = page.metadata?._continue || undefined;
    } while (_continue);
    return names;
  }

  private async observe(scan: ContainerScan): Promise<{ observed: Observed; results: ScanResult[]; daemonSet: boolean }> {
    const namespace = scan.metadata.namespace;
    const run = scan.status?.run ?? '';
    const runSelector = `${LABEL_RUN}=${run}`;
    const list = (await this.c.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: RESULTS, labelSelector: runSelector })) as { items: ScanResult[] };
    const results = list.items.filter((r) => r.spec?.run === run);
    const reports: Observed['reports'] = new Map();
    for (const r of results) {
      const st = r.status;
      if (st?.phase === 'Reported' || st?.phase === 'Failed')
        reports.set(r.spec.node, { phase: st.phase, ...(st.error ? { error: st.error } : {}), containersScanned: st.containersScanned ?? 0, containersDetected: st.containersDetected ?? 0 });
    }
    const pods = (await this.c.core.listNamespacedPod({ namespace, labelSelector: `${runSelector},${LABEL_COMPONENT}=scanner` })).items;
    const readyNodes = new Set<string>();
    const podProblems = new Map<string, string>();
    for (const n of scan.status?.nodes ?? []) podProblems.set(n.name, 'no scanner pod was created for the node');
    for (const p of pods) {
      const node = nodeOf(p);
      if (!node) continue;
      if (isReady(p)) readyNodes.add(node);
      podProblems.set(node, podProblem(p));
    }
    let daemonSet = true;
    try {
      await this.c.apps.readNamespacedDaemonSet({ namespace, name: daemonSetName(run) });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      daemonSet = false;
    }
    return { observed: { reports, readyNodes, runObjectsGone: !daemonSet && pods.length === 0, podProblems }, results, daemonSet };
  }

  // ---- writing -----------------------------------------------------------------------------------------------

  /** Replaces the status with the resourceVersion read: a concurrent change gives a 409 and a fresh reconcile. */
  private async writeStatus(scan: ContainerScan, status: ContainerScanStatus): Promise<ContainerScan> {
    const body = { ...scan, status };
    return (await this.c.custom.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      namespace: scan.metadata.namespace,
      plural: SCANS,
      name: scan.metadata.name,
      body,
    })) as ContainerScan;
  }

  private async event(scan: ContainerScan, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const now = this.clock.now();
    try {
      await this.c.core.createNamespacedEvent({
        namespace: scan.metadata.namespace,
        body: {
          metadata: { generateName: `${scan.metadata.name}.`, namespace: scan.metadata.namespace },
          involvedObject: { apiVersion: API_VERSION, kind: 'ContainerScan', name: scan.metadata.name, namespace: scan.metadata.namespace, uid: scan.metadata.uid, ...(scan.metadata.resourceVersion ? { resourceVersion: scan.metadata.resourceVersion } : {}) },
          reason,
          message: message.slice(0, 1024),
          type,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: 'containerscan-controller' },
          reportingComponent: 'containerscanner.io/controller',
          reportingInstance: this.o.identity ?? 'containerscan-controller',
        },
      });
    } catch (e) {
      // An Event is for people; failing to record one must not fail the run.
      log.warn('could not record event', { reason, error: describeError(e) });
    }
  }

  private async ensureRunObjects(scan: ContainerScan, existing: ScanResult[], daemonSetExists: boolean): Promise<void> {
    const namespace = scan.metadata.namespace;
    const st = scan.status!;
    const run = st.run!;
    const have = new Set(existing.map((r) => r.metadata.name));
    for (const n of st.nodes ?? []) {
      if (have.has(n.scanResult)) continue;
      await createIfAbsent(() =>
        this.c.custom.createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: RESULTS,
          body: {
            apiVersion: API_VERSION,
            kind: 'ScanResult',
            metadata: { name: n.scanResult, namespace, labels: runLabels(scan.metadata.name, run, 'result'), ownerReferences: [ownerRef(scan)] },
            spec: { scan: scan.metadata.name, run, node: n.name },
          },
        }),
      );
    }
    if (!this.rbacDone.has(`${namespace}/${run}`)) {
      await this.ensureReporterRbac(scan, (st.nodes ?? []).map((n) => n.scanResult));
      this.rbacDone.add(`${namespace}/${run}`);
    }
    if (!daemonSetExists && (st.nodes ?? []).length > 0) {
      const images = { scanner: scan.spec.image ?? this.o.images.scanner, reporter: scan.spec.reporterImage ?? this.o.images.reporter };
      const ds = renderDaemonSet(this.o.template, scan, run, images);
      if (this.o.reporterServiceAccount) ds.spec!.template.spec!.serviceAccountName = this.o.reporterServiceAccount;
      if (await createIfAbsent(() => this.c.apps.createNamespacedDaemonSet({ namespace, body: ds }))) {
        log.info('scanner DaemonSet created', { namespace, name: ds.metadata!.name });
        await this.event(scan, 'Normal', 'DaemonSetCreated', `created DaemonSet ${ds.metadata!.name}`);
      }
    }
  }

  /** The reporter may patch the status of this run's ScanResults, and nothing else. */
  private async ensureReporterRbac(scan: ContainerScan, resultNames: string[]): Promise<void> {
    const namespace = scan.metadata.namespace;
    const run = scan.status!.run!;
    const name = reporterRoleName(run);
    const sa = this.o.reporterServiceAccount ?? this.o.template.spec?.template.spec?.serviceAccountName ?? 'container-scanner-reporter';
    const metadata = { name, namespace, labels: runLabels(scan.metadata.name, run, 'reporter-rbac'), ownerReferences: [ownerRef(scan)] };
    const rules = resultNames.length ? [{ apiGroups: [GROUP], resources: [`${RESULTS}/status`], resourceNames: resultNames, verbs: ['get', 'patch'] }] : [];
    await createIfAbsent(() => this.c.rbac.createNamespacedRole({ namespace, body: { metadata, rules } }));
    await createIfAbsent(() =>
      this.c.rbac.createNamespacedRoleBinding({
        namespace,
        body: { metadata, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace }] },
      }),
    );
  }

  private async publish(scan: ContainerScan, status: ContainerScanStatus, results: ScanResult[], now: Date): Promise<ContainerScanStatus['result']> {
    const namespace = scan.metadata.namespace;
    const run = status.run!;
    const byNode = new Map(results.map((r) => [r.spec.node, r]));
    const reported = (status.nodes ?? []).filter((n) => n.phase === 'Reported');
    const merged = mergeTrees(reported.map((n) => ({ node: n.name, tree: byNode.get(n.name)?.status?.tree ?? {} })));
    if (merged.warnings.length)
      log.warn('containers reported by more than one node', { scan: `${namespace}/${scan.metadata.name}`, run, count: merged.warnings.length, first: merged.warnings.slice(0, 5) });
    let pub: ReturnType<typeof buildPublication>;
    try {
      pub = buildPublication({
        namespace,
        scan: scan.metadata.name,
        run,
        completedAt: now,
        tree: merged.tree,
        nodes: { targeted: status.nodesDesired ?? 0, reported: status.nodesReported ?? 0, failed: status.nodesFailed ?? 0 },
        errors: status.errors ?? [],
        labels: runLabels(scan.metadata.name, run, 'result'),
        ownerReferences: [ownerRef(scan)],
        ...(this.o.maxShardBytes ? { maxShardBytes: this.o.maxShardBytes } : {}),
      });
    } catch (e) {
      // Not an API problem that a retry would fix (e.g. one pod too large for any ConfigMap): the run goes on to
      // its teardown without a result, and says why.
      const msg = `result not published: ${(e as Error).message}`;
      status.errors = [...(status.errors ?? []), msg];
      log.error(msg, { scan: `${namespace}/${scan.metadata.name}`, run });
      return undefined;
    }
    // Shards first, index last: a reader who finds the index finds every shard it names.
    for (const cm of pub.configMaps) {
      const created = await createIfAbsent(() => this.c.core.createNamespacedConfigMap({ namespace, body: cm }));
      if (!created) await this.c.core.replaceNamespacedConfigMap({ namespace, name: cm.metadata!.name!, body: cm });
    }
    this.o.metrics?.published.set(pub.index.containers, { scan: `${namespace}/${scan.metadata.name}` });
    log.info('result published', { scan: `${namespace}/${scan.metadata.name}`, run, configMap: indexName(run), shards: pub.index.shards.length, containers: pub.index.containers });
    return { run, configMap: indexName(run), shards: pub.index.shards.length, containers: pub.index.containers };
  }

  /**
   * Points `<scan>-latest` at the completed run's result (a copy of its index, with the errors that came after
   * publishing). A run that published nothing leaves the pointer at the previous result.
   */
  private async publishLatest(scan: ContainerScan, status: ContainerScanStatus): Promise<void> {
    const namespace = scan.metadata.namespace;
    const run = status.run;
    if (!run || !status.result) return;
    let runIndex: V1ConfigMap;
    try {
      runIndex = await this.c.core.readNamespacedConfigMap({ namespace, name: indexName(run) });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      log.warn('run index gone before the latest pointer was written', { scan: `${namespace}/${scan.metadata.name}`, run });
      return;
    }
    const name = latestName(scan.metadata.name);
    const body = buildLatest(runIndex, status.errors ?? [], { name, namespace, labels: runLabels(scan.metadata.name, run, 'result'), ownerReferences: [ownerRef(scan)] });
    const created = await createIfAbsent(() => this.c.core.createNamespacedConfigMap({ namespace, body }));
    if (!created) await this.c.core.replaceNamespacedConfigMap({ namespace, name, body });
  }

  private async deleteRunObjects(scan: ContainerScan): Promise<void> {
    const namespace = scan.metadata.namespace;
    const run = scan.status!.run!;
    await deleteIfPresent(() => this.c.apps.deleteNamespacedDaemonSet({ namespace, name: daemonSetName(run), propagationPolicy: 'Background' }));
    await deleteIfPresent(() => this.c.rbac.deleteNamespacedRoleBinding({ namespace, name: reporterRoleName(run) }));
    await deleteIfPresent(() => this.c.rbac.deleteNamespacedRole({ namespace, name: reporterRoleName(run) }));
    this.rbacDone.delete(`${namespace}/${run}`);
  }

  /** Past the teardown timeout: pods go without grace and a stuck DaemonSet loses its finalizers. */
  private async forcePrune(scan: ContainerScan): Promise<void> {
    const namespace = scan.metadata.namespace;
    const run = scan.status!.run!;
    const pods = await this.c.core.listNamespacedPod({ namespace, labelSelector: `${LABEL_RUN}=${run},${LABEL_COMPONENT}=scanner` });
    for (const p of pods.items) await deleteIfPresent(() => this.c.core.deleteNamespacedPod({ namespace, name: p.metadata!.name!, gracePeriodSeconds: 0 }));
    try {
      const ds = await this.c.apps.readNamespacedDaemonSet({ namespace, name: daemonSetName(run) });
      if (ds.metadata?.finalizers?.length) {
        await this.c.apps.replaceNamespacedDaemonSet({ namespace, name: daemonSetName(run), body: { ...ds, metadata: { ...ds.metadata, finalizers: [] } } });
      }
      await deleteIfPresent(() => this.c.apps.deleteNamespacedDaemonSet({ namespace, name: daemonSetName(run), propagationPolicy: 'Background', gracePeriodSeconds: 0 }));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    log.warn('run objects pruned by force', { scan: `${namespace}/${scan.metadata.name}`, run, pods: pods.items.length });
  }

  /**
   * Leftovers of finished runs (a crashed controller, an older version): scanner DaemonSets, their pods and
   * reporter RBAC of runs numbered up to `upTo`. Later runs are left alone: a racing reconciler (an old leader's last
   * moments) may just have started one.
   */
  async pruneLeftovers(scan: ContainerScan, upTo: number): Promise<void> {
    const namespace = scan.metadata.namespace;
    const selector = `${LABEL_SCAN}=${scan.metadata.name}`;
    const stale = (labels: Record<string, string> | undefined) => {
      const run = labels?.[LABEL_RUN];
      return run !== undefined && runNumberOf(run) <= upTo;
    };
    const dss = await this.c.apps.listNamespacedDaemonSet({ namespace, labelSelector: selector });
    for (const ds of dss.items)
      if (stale(ds.metadata?.labels) && !ds.metadata?.deletionTimestamp) {
        log.info('pruning leftover DaemonSet', { namespace, name: ds.metadata?.name });
        await deleteIfPresent(() => this.c.apps.deleteNamespacedDaemonSet({ namespace, name: ds.metadata!.name!, propagationPolicy: 'Background' }));
      }
    const pods = await this.c.core.listNamespacedPod({ namespace, labelSelector: `${selector},${LABEL_COMPONENT}=scanner` });
    for (const p of pods.items)
      if (stale(p.metadata?.labels) && !p.metadata?.deletionTimestamp) await deleteIfPresent(() => this.c.core.deleteNamespacedPod({ namespace, name: p.metadata!.name! }));
    const bindings = await this.c.rbac.listNamespacedRoleBinding({ namespace, labelSelector: selector });
    for (const b of bindings.items) if (stale(b.metadata?.labels)) await deleteIfPresent(() => this.c.rbac.deleteNamespacedRoleBinding({ namespace, name: b.metadata!.name! }));
    const roles = await this.c.rbac.listNamespacedRole({ namespace, labelSelector: selector });
    for (const r of roles.items) if (stale(r.metadata?.labels)) await deleteIfPresent(() => this.c.rbac.deleteNamespacedRole({ namespace, name: r.metadata!.name! }));
  }

  /** Keeps the published results and ScanResults of the last historyLimit runs. */
  private async pruneHistory(scan: ContainerScan): Promise<void> {
    const namespace = scan.metadata.namespace;
    const keepFrom = (scan.status?.runNumber ?? 0) - (scan.spec.historyLimit ?? 3) + 1;
    const selector = `${LABEL_SCAN}=${scan.metadata.name}`;
    const old = (labels: Record<string, string> | undefined) => {
      const n = runNumberOf(labels?.[LABEL_RUN]);
      return n >= 0 && n < keepFrom;
    };
    const cms = await this.c.core.listNamespacedConfigMap({ namespace, labelSelector: `${selector},${LABEL_COMPONENT}=result` });
    for (const cm of cms.items) if (old(cm.metadata?.labels)) await deleteIfPresent(() => this.c.core.deleteNamespacedConfigMap({ namespace, name: cm.metadata!.name! }));
    const srs = (await this.c.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: RESULTS, labelSelector: selector })) as { items: ScanResult[] };
    for (const sr of srs.items)
      if (old(sr.metadata.labels))
        await deleteIfPresent(() => this.c.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: RESULTS, name: sr.metadata.name }));
  }

  /**
   * Start-up sweep. Scanner DaemonSets whose ContainerScan is gone, or is not running that run any more, are
   * removed; results, ScanResults and reporter RBAC of ContainerScans that are gone too (garbage collection
   * usually does this through the owner references, but it may be off or late); and every remaining scan's
   * history is trimmed to its historyLimit.
   */
  async sweep(namespace: string): Promise<void> {
    const scans = new Map<string, ContainerScan>();
    const list = (await this.c.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: SCANS })) as { items: ContainerScan[] };
    for (const s of list.items) scans.set(s.metadata.name, s);
    const scanOf = (labels: Record<string, string> | undefined) => labels?.[LABEL_SCAN];

    const dss = await this.c.apps.listNamespacedDaemonSet({ namespace, labelSelector: `${LABEL_COMPONENT}=scanner` });
    for (const ds of dss.items) {
      const scanName = scanOf(ds.metadata?.labels);
      if (!scanName || ds.metadata?.deletionTimestamp) continue;
      const scan = scans.get(scanName);
      const run = ds.metadata?.labels?.[LABEL_RUN];
      const active = scan?.status?.run === run && (scan?.status?.phase === 'Running' || scan?.status?.phase === 'TearingDown');
      if (!active) {
        log.info('sweeping leftover DaemonSet', { namespace, name: ds.metadata?.name, scan: scanName, run });
        await deleteIfPresent(() => this.c.apps.deleteNamespacedDaemonSet({ namespace, name: ds.metadata!.name!, propagationPolicy: 'Background' }));
      }
    }
    const orphan = (labels: Record<string, string> | undefined) => {
      const s = scanOf(labels);
      return s !== undefined && !scans.has(s);
    };
    const cms = await this.c.core.listNamespacedConfigMap({ namespace, labelSelector: `${LABEL_COMPONENT}=result` });
    for (const cm of cms.items) if (orphan(cm.metadata?.labels)) await deleteIfPresent(() => this.c.core.deleteNamespacedConfigMap({ namespace, name: cm.metadata!.name! }));
    const srs = (await this.c.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: RESULTS, labelSelector: LABEL_SCAN })) as { items: ScanResult[] };
    for (const sr of srs.items)
      if (orphan(sr.metadata.labels)) await deleteIfPresent(() => this.c.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: RESULTS, name: sr.metadata.name }));
    const bindings = await this.c.rbac.listNamespacedRoleBinding({ namespace, labelSelector: `${LABEL_COMPONENT}=reporter-rbac` });
    for (const b of bindings.items) if (orphan(b.metadata?.labels)) await deleteIfPresent(() => this.c.rbac.deleteNamespacedRoleBinding({ namespace, name: b.metadata!.name! }));
    const roles = await this.c.rbac.listNamespacedRole({ namespace, labelSelector: `${LABEL_COMPONENT}=reporter-rbac` });
    for (const r of roles.items) if (orphan(r.metadata?.labels)) await deleteIfPresent(() => this.c.rbac.deleteNamespacedRole({ namespace, name: r.metadata!.name! }));
    for (const scan of scans.values()) if (scan.status?.runNumber) await this.pruneHistory(scan);
  }
}

/** The node a DaemonSet pod is for: bound, or pinned by the DaemonSet controller's node affinity. */
export function nodeOf(p: V1Pod): string | undefined {
  if (p.spec?.nodeName) return p.spec.nodeName;
  for (const term of p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [])
    for (const f of term.matchFields ?? []) if (f.key === 'metadata.name' && f.values?.length === 1) return f.values[0];
  return undefined;
}

/** A short reason why a scanner pod is not ready, from what kubelet and the scheduler recorded. */
export function podProblem(p: V1Pod): string {
  const clip = (s: string | undefined) => (s ?? '').replace(/\s+/g, ' ').trim().slice(0, 300);
  for (const cs of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) {
    const term = cs.state?.terminated ?? cs.lastState?.terminated;
    if (term && term.exitCode !== 0) return `${cs.name} exited with code ${term.exitCode}${term.reason ? ` (${term.reason})` : ''}${term.message ? `: ${clip(term.message)}` : ''}`;
    const wait = cs.state?.waiting;
    if (wait?.reason && wait.reason !== 'PodInitializing') return `${cs.name} waiting: ${wait.reason}${wait.message ? `: ${clip(wait.message)}` : ''}`;
  }
  if (!p.spec?.nodeName) {
    const sched = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    return `scanner pod not scheduled${sched?.message ? `: ${clip(sched.message)}` : ''}`;
  }
  return `scanner pod ${p.status?.phase ?? 'Pending'}`;
}

function isReady(p: V1Pod): boolean {
  return !p.metadata?.deletionTimestamp && p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}
