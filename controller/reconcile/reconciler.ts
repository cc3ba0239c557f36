/**
 * Reconciles one ContainerScan: reads it fresh, decides with the pure state machine (runstate.ts), performs the
 * actions (all idempotent), writes the status with optimistic concurrency and emits Events. Everything a run
 * needs to resume lives in the status, so a restarted controller picks a run up where it was.
 */
import { setHeaderOptions, type V1ConfigMap, type V1DaemonSet } from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';
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
  type FailureReason,
  type PublishedResult,
  type ScanResult,
} from '../api/resources.js';
import { ownerRef, renderDaemonSet, runLabels, type Images } from './daemonset.js';
import { EventRecorder } from './events.js';
import {
  createIfAbsent,
  deleteIfPresent,
  describeError,
  isConflict,
  isNotFound,
  mergePatch,
  statusCode,
  type Clients,
} from '../kube/clients.js';
import { log } from '../util/log.js';
import { METADATA_PAGE, METADATA_WATCH_ACCEPT, metadataList, paged } from '../kube/metadata.js';
import { TreeMerger } from './merge.js';
import type { Metrics } from '../manager/metrics.js';
import { daemonSetName, reporterRoleName, scanResultName } from '../api/names.js';
import { isTargeted } from './nodes.js';
import { summarize as summarizePod, type PodSummary, type ScannerPodView } from './pods.js';
export { nodeOf, podProblem } from './pods.js';
import { DELETE_CONCURRENCY, listAll, prune, PRUNABLE, type Labels, type PrunableKind } from './prune.js';
import {
  INDEX_KEY,
  buildLatest,
  buildPublication,
  indexName,
  latestName,
  omittedPodError,
  unpublishable,
  type ResultIndex,
} from '../publish/publish.js';
import {
  OMITTED_NAMES,
  capErrors,
  checkSpec,
  invalid,
  pointerRefused,
  recordPublication,
  runDue,
  startRun,
  step,
  systemClock,
  type Action,
  type Clock,
  type Observed,
  type PublicationOutcome,
} from './runstate.js';
import { inParallel } from '../util/parallel.js';
import { stableStringify } from '../util/stable-stringify.js';
import { cleanText, judgeScanResult, type ExpectedResult, type Verdict } from './judge-scanresult.js';

export interface ReconcilerOptions {
  clients: Clients;
  /** The controller's namespace: the only one whose ContainerScans it runs (docs/adr/0005). */
  namespace: string;
  template: V1DaemonSet;
  /** The images of the scanner DaemonSet: the cluster admin's configuration, never a ContainerScan's. */
  images: Images;
  reporterServiceAccount?: string;
  clock?: Clock;
  metrics?: Metrics;
  /** Names this controller instance in Events. */
  identity?: string;
  maxShardBytes?: number;
  /** Bytes of judged ScanResult verdicts kept between reconciles (default VERDICT_CACHE_BYTES). */
  verdictCacheBytes?: number;
}

/** A verdict on one version of a ScanResult, without its tree: what a reconcile needs of a node's report. */
type Judged = Exclude<Verdict, { kind: 'reported' }> | { kind: 'reported'; containers: number; detected: number };
/**
 * Verdicts are cached by ScanResult uid and resourceVersion, so a node's tree is fetched and validated once per
 * report, not once per reconcile. Some 150 bytes each: 8 MiB holds those of about 50,000 nodes; an evicted one only
 * costs a GET.
 */
export const VERDICT_CACHE_BYTES = 8 * 1024 * 1024;
/** Full ScanResults (trees of up to 1 MiB) per page while merging: the merge holds one page at a time. */
export const MERGE_PAGE = 20;
/** ScanResults fetched at once to judge new reports. */
const JUDGE_CONCURRENCY = 8;
/** ScanResults created (or given the controller's verdict) at once. */
const CREATE_CONCURRENCY = 16;
/** Pods per page while observing a run (only a summary of each is kept). */
const POD_PAGE = 500;
/**
 * Nodes per page when a run lists its targets (only the names of the targeted ones are kept). A Node as a kubelet
 * reports it is some 13 KiB of JSON, most of it the images it lists (up to 50), and several times that once parsed
 * and typed: at 500 nodes, pages of 500 raised the controller's peak by 15-20 MiB (docs/benchmarks.md).
 */
export const NODE_PAGE = 100;

const MAX_CONFLICT_RETRIES = 5;
/** A single object's metadata (PartialObjectMetadata): what pruning needs of the pointer, without its index. */
const metadataOnly = setHeaderOptions('Accept', METADATA_WATCH_ACCEPT);
/**
 * Answers that refuse a write for good (bad request, forbidden: a quota, an admission policy or RBAC; too large;
 * invalid), as opposed to outages and timeouts, which the reconcile retries.
 */
const REFUSALS: ReadonlySet<number | undefined> = new Set([400, 403, 413, 422]);
const isRefusal = (e: unknown) => REFUSALS.has(statusCode(e));
/** Failures of a node that come from its ScanResult (a report arrived), not from a deadline. */
const REPORTED_FAILURES: ReadonlySet<FailureReason> = new Set(['NodeFailed', 'ReportRejected']);
/** How soon to look again while a stale object of an earlier incarnation is being deleted. */
const STALE_OBJECT_RETRY_MS = 1000;
export { capErrors, MAX_STATUS_ERRORS } from './runstate.js';

/** Run number encoded at the end of a run name ("<scan>-<n>"). */
function runNumberOf(run: string | undefined): number {
  const m = /-(\d+)$/.exec(run ?? '');
  return m ? Number(m[1]) : -1;
}

export class Reconciler {
  private readonly c: Clients;
  private readonly clock: Clock;
  private readonly events: EventRecorder;
  private readonly verdicts: LRUCache<string, Judged>;
  private scannerPods: ScannerPodView | undefined;

  constructor(private readonly o: ReconcilerOptions) {
    this.c = o.clients;
    this.clock = o.clock ?? systemClock;
    this.events = new EventRecorder(o.clients, this.clock, o.identity);
    this.verdicts = new LRUCache<string, Judged>({
      maxSize: o.verdictCacheBytes ?? VERDICT_CACHE_BYTES,
      sizeCalculation: (v, k) => 64 + k.length + ('error' in v ? v.error.length : 'why' in v ? v.why.length : 0),
    });
  }

  /** Returns when to look again (ms), or undefined when only an event should wake this scan. */
  async reconcile(namespace: string, name: string): Promise<number | undefined> {
    const took = this.o.metrics?.reconcileDuration.startTimer();
    for (let attempt = 1; ; attempt++) {
      try {
        const requeue = await this.once(namespace, name);
        this.o.metrics?.reconciles.inc({ result: 'ok' });
        took?.({ result: 'ok' });
        return requeue;
      } catch (e) {
        if (isConflict(e) && attempt < MAX_CONFLICT_RETRIES) {
          log.debug('status conflict; reconciling again with a fresh read', { namespace, name, attempt });
          continue;
        }
        this.o.metrics?.reconciles.inc({ result: 'error' });
        took?.({ result: 'error' });
        throw new Error(`reconcile ${namespace}/${name}: ${describeError(e)}`, { cause: e });
      }
    }
  }

  private async once(namespace: string, name: string): Promise<number | undefined> {
    let scan = await this.getScan(namespace, name);
    if (!scan || scan.metadata.deletionTimestamp) return undefined; // owner references take the run's objects along
    const now = this.clock.now();
    if (namespace !== this.o.namespace) {
      // Never silently ignored: a ContainerScan elsewhere is told where scans are handled (docs/adr/0005).
      const msg =
        `ContainerScans are handled only in namespace ${this.o.namespace}, where the controller runs its ` +
        `scanner DaemonSets; create it there`;
      const st = invalid(scan, msg, now, { type: 'Accepted', reason: 'OutsideControllerNamespace' });
      if (stableStringify(st) !== stableStringify(scan.status ?? {})) await this.writeStatus(scan, st);
      return undefined;
    }
    let waiting = false;
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
    const seen = active
      ? await this.observe(scan)
      : {
          observed: { reports: new Map(), readyNodes: new Set<string>(), runObjectsGone: true },
          daemonSet: undefined,
        };
    if (!active) await this.pruneLeftovers(scan, scan.status?.runNumber ?? 0);
    const d = step(scan, seen.observed, now, checked.timeouts);
    const events: Extract<Action, { type: 'event' }>[] = [];
    let publication: PublicationOutcome | undefined;
    let pointerEvents: Extract<Action, { type: 'event' }>[] | undefined;
    // The verdicts on failed nodes are independent writes, several at a time: at a deadline they can be hundreds.
    const verdicts = d.actions.filter((a) => a.type === 'failScanResult');
    await inParallel(verdicts, CREATE_CONCURRENCY, (a) => this.failScanResult(scan!, a.node, a.uid, a.error));
    for (const a of d.actions) {
      switch (a.type) {
        case 'ensureRunObjects': {
          // ScanResults first, their UIDs recorded in the status before any scanner pod can report: only the
          // objects recorded there are ever merged.
          const uids = await this.ensureScanResults(scan);
          if (uids.size) {
            for (const n of d.status.nodes ?? []) if (uids.has(n.name)) n.scanResultUID = uids.get(n.name);
            scan = await this.writeStatus(scan, d.status);
          }
          if ((scan.status?.nodes ?? []).every((n) => n.scanResultUID || !isWaitedFor(n))) {
            const rbac = await this.ensureReporterRbac(
              scan,
              (scan.status?.nodes ?? []).map((n) => scanResultName(scan!.status!.run!, n.name)),
            );
            const ds = await this.ensureDaemonSet(scan, seen.daemonSet);
            waiting ||= !rbac || !ds;
          } else waiting = true;
          break;
        }
        case 'failScanResult':
          break; // done above
        case 'publish': {
          publication = await this.publish(scan, d.status, now);
          events.push(...recordPublication(d.status, publication, now, scan.metadata.generation ?? 0));
          // Merged: the UIDs have served their purpose, and the status of a large cluster stays small.
          for (const n of d.status.nodes ?? []) delete n.scanResultUID;
          break;
        }
        case 'deleteRunObjects':
          await this.deleteRunObjects(scan);
          break;
        case 'forcePrune':
          await this.forcePrune(scan);
          break;
        case 'publishLatest': {
          const refused = await this.publishLatest(scan, d.status);
          if (refused) {
            const pointer = latestName(scan.metadata.name);
            const pointed = await this.pointedResult(namespace, pointer);
            pointerEvents = pointerRefused(d.status, pointer, refused, pointed, now, scan.metadata.generation ?? 0);
            publication = { kind: 'failed', error: refused, omittedErrors: [] };
          }
          break;
        }
        case 'pruneHistory':
          await this.pruneHistory(scan, d.status);
          break;
        case 'event':
          // The run ends Failed when its pointer was refused: that replaces the Completed Event.
          if (!(pointerEvents && a.reason === 'Completed')) events.push(a);
          break;
      }
    }
    if (pointerEvents) events.push(...pointerEvents);
    d.status.errors = capErrors(d.status.errors);
    if (stableStringify(d.status) !== stableStringify(scan.status ?? {})) scan = await this.writeStatus(scan, d.status);
    // Counted once the status holds the outcome (a conflict repeats the publication, not the count).
    const scanKey = { scan: `${namespace}/${name}` };
    if (publication?.kind === 'failed') this.o.metrics?.publicationsFailed.inc(scanKey);
    if (publication?.kind === 'published' && publication.omittedErrors.length)
      this.o.metrics?.podsOmitted.inc(scanKey, publication.omittedErrors.length);
    for (const e of events) {
      if (e.reason.startsWith('Node') || e.reason === 'ReportRejected')
        this.o.metrics?.nodesFailed.inc({ reason: e.reason });
      if (e.reason === 'Completed')
        this.o.metrics?.runsCompleted.inc({ errors: String((d.status.errors ?? []).length > 0) });
      await this.event(scan, e.kind, e.reason, e.message);
    }
    if (waiting) return Math.min(d.requeueAfterMs ?? STALE_OBJECT_RETRY_MS, STALE_OBJECT_RETRY_MS);
    return d.requeueAfterMs;
  }

  // ---- reading -----------------------------------------------------------------------------------------------

  private async getScan(namespace: string, name: string): Promise<ContainerScan | undefined> {
    try {
      return (await this.c.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: SCANS,
        name,
      })) as ContainerScan;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async targetNodes(scan: ContainerScan): Promise<string[]> {
    const names: string[] = [];
    const pages = paged((cont) => this.c.core.listNode({ limit: NODE_PAGE, ...(cont ? { _continue: cont } : {}) }));
    for await (const nodes of pages)
      for (const n of nodes)
        if (n.metadata?.name && isTargeted(n, scan.spec.nodeSelector, scan.spec.tolerations))
          names.push(n.metadata.name);
    return names;
  }

  /** The ScanResult the controller expects for each targeted node of the current run. */
  private expected(scan: ContainerScan): Map<string, ExpectedResult> {
    const run = scan.status?.run ?? '';
    return new Map(
      (scan.status?.nodes ?? []).map((n) => [
        scanResultName(run, n.name),
        { name: scanResultName(run, n.name), uid: n.scanResultUID, run, node: n.name },
      ]),
    );
  }

  /**
   * What the cluster shows for the current run. ScanResults are listed without their trees; a tree is fetched and
   * judged only when its ScanResult changed since it was last judged (a report), and only the verdict is kept.
   */
  private async observe(scan: ContainerScan): Promise<{ observed: Observed; daemonSet: V1DaemonSet | undefined }> {
    const namespace = scan.metadata.namespace;
    const run = scan.status?.run ?? '';
    const runSelector = `${LABEL_RUN}=${run}`;
    const expected = this.expected(scan);
    const failed = new Set((scan.status?.nodes ?? []).filter((n) => n.phase === 'Failed').map((n) => n.name));
    const settled = new Set(
      (scan.status?.nodes ?? []).filter((n) => n.phase === 'Reported' || n.phase === 'Failed').map((n) => n.name),
    );
    const toJudge: { meta: ScanResult['metadata']; want: ExpectedResult }[] = [];
    const verdicts = new Map<string, Judged>();
    for await (const items of paged((cont) => this.listScanResultMetadata(namespace, runSelector, cont)))
      for (const { metadata: meta } of items) {
        const want = expected.get(meta.name);
        if (want && !want.uid) continue; // made a moment ago, UID not recorded yet: looked at next time
        if (want && failed.has(want.node)) continue; // settled: nothing of it is used any more
        if (!want || meta.uid !== want.uid) {
          const why = want
            ? `ScanResult ${meta.name} (uid ${meta.uid}) was not created by the controller for run ${run}`
            : `ScanResult ${meta.name} is labelled for run ${run} but is not one of its ScanResults`;
          verdicts.set(meta.name, { kind: 'foreign', why });
          continue;
        }
        const cached = this.verdicts.get(verdictKey(meta));
        if (cached) verdicts.set(meta.name, cached);
        else toJudge.push({ meta, want });
      }
    await inParallel(toJudge, JUDGE_CONCURRENCY, async ({ meta, want }) => {
      const sr = await this.getScanResult(namespace, meta.name);
      if (!sr) return;
      const judged = summarize(judgeScanResult(sr, want));
      this.verdicts.set(verdictKey(sr.metadata), judged);
      verdicts.set(meta.name, judged);
    });
    const reports: Observed['reports'] = new Map();
    for (const [name, verdict] of verdicts) {
      const want = expected.get(name);
      if (verdict.kind === 'foreign') {
        log.warn('ignoring a ScanResult the controller did not create', {
          scan: `${namespace}/${scan.metadata.name}`,
          run,
          scanResult: name,
          why: verdict.why,
        });
        await this.event(scan, 'Warning', 'ForeignScanResult', `${cleanText(verdict.why, 300)}; ignored`);
        continue;
      }
      if (settled.has(want!.node) && verdict.kind !== 'reported') continue;
      if (verdict.kind === 'reported')
        reports.set(want!.node, {
          phase: 'Reported',
          containersScanned: verdict.containers,
          containersDetected: verdict.detected,
        });
      else if (verdict.kind === 'failed')
        reports.set(want!.node, { phase: 'Failed', reason: verdict.reason, error: verdict.error });
    }
    const readyNodes = new Set<string>();
    const podProblems = new Map<string, string>();
    let daemonSet: V1DaemonSet | undefined;
    try {
      daemonSet = await this.c.apps.readNamespacedDaemonSet({ namespace, name: daemonSetName(run) });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const withPod = new Set<string>();
    let podCount = 0;
    for await (const pods of this.scannerPodsOf(namespace, run))
      for (const p of pods) {
        podCount++;
        if (!p.node) continue;
        withPod.add(p.node);
        if (p.ready) readyNodes.add(p.node);
        podProblems.set(p.node, p.problem);
      }
    const podless = (scan.status?.nodes ?? []).filter(
      (n) => !withPod.has(n.name) && (n.phase === 'Pending' || n.phase === 'Ready'),
    );
    let podCreateProblem: string | undefined;
    if (podless.length && daemonSet && isOwnedBy(daemonSet, scan))
      podCreateProblem = await this.podCreateProblem(namespace, daemonSet);
    for (const n of podless) podProblems.set(n.name, podCreateProblem ?? 'no scanner pod was created for the node');
    return {
      observed: {
        reports,
        readyNodes,
        runObjectsGone: !daemonSet && podCount === 0,
        podProblems,
        ...(podCreateProblem ? { podCreateProblem } : {}),
      },
      daemonSet,
    };
  }

  /** Lets reconciles read the scanner pods from the manager's watch of them (ScannerPods) instead of listing them. */
  useScannerPods(view: ScannerPodView): void {
    this.scannerPods = view;
  }

  /**
   * The run's scanner pods, summarized: from the watch when it is current, else listed a page at a time (a
   * reconciler without a manager, or a watch starting over), each page summarized and dropped.
   */
  private async *scannerPodsOf(namespace: string, run: string): AsyncGenerator<PodSummary[]> {
    const seen = this.scannerPods?.ofRun(run);
    if (seen) {
      yield seen;
      return;
    }
    const labelSelector = `${LABEL_RUN}=${run},${LABEL_COMPONENT}=scanner`;
    const podPage = (cont: string | undefined) =>
      this.c.core.listNamespacedPod({
        namespace,
        labelSelector,
        limit: POD_PAGE,
        ...(cont ? { _continue: cont } : {}),
      });
    for await (const pods of paged(podPage)) yield pods.map(summarizePod);
  }

  private async listScanResultMetadata(
    namespace: string,
    labelSelector: string,
    cont: string | undefined,
  ): Promise<{ items: ScanResult[]; metadata?: { continue?: string } }> {
    const page = { limit: METADATA_PAGE, ...(cont ? { _continue: cont } : {}) };
    return (await this.c.custom.listNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace, plural: RESULTS, labelSelector, ...page },
      metadataList,
    )) as { items: ScanResult[]; metadata?: { continue?: string } };
  }

  private async getScanResult(namespace: string, name: string): Promise<ScanResult | undefined> {
    try {
      return (await this.c.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: RESULTS,
        name,
      })) as ScanResult;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /**
   * Why the DaemonSet controller cannot create scanner pods, from its FailedCreate Events on the DaemonSet. Pod
   * Security admission is the common case and has a one-line fix, which is given.
   */
  private async podCreateProblem(namespace: string, ds: V1DaemonSet): Promise<string | undefined> {
    const evs = await this.c.core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.kind=DaemonSet,involvedObject.name=${ds.metadata!.name!},reason=FailedCreate`,
    });
    const mine = evs.items.filter((e) => !e.involvedObject.uid || e.involvedObject.uid === ds.metadata?.uid);
    const last = mine.sort((a, b) => eventTime(b) - eventTime(a))[0];
    if (!last?.message) return undefined;
    // The DaemonSet controller names each pod it tried ("pods \"<ds>-x7k2p\" is forbidden"): without the name, one
    // cause gives one message, so its condition stays put and its Event is counted instead of repeated.
    const msg = cleanText(last.message.replace(/pods "[^"]*"/g, 'pods'), 400);
    if (/violates PodSecurity/.test(msg))
      return (
        `Pod Security admission rejects the scanner pods (${msg}). The scanner pod is privileged with hostPID ` +
        `and hostPath volumes by design; allow it in this namespace: kubectl label namespace ${namespace} ` +
        `pod-security.kubernetes.io/enforce=privileged --overwrite`
      );
    return `the DaemonSet cannot create scanner pods: ${msg}`;
  }

  // ---- writing -----------------------------------------------------------------------------------------------

  /** Replaces the status with the resourceVersion read: a concurrent change gives a 409 and a fresh reconcile. */
  private async writeStatus(scan: ContainerScan, status: ContainerScanStatus): Promise<ContainerScan> {
    const body = { ...scan, status };
    const written = (await this.c.custom.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      namespace: scan.metadata.namespace,
      plural: SCANS,
      name: scan.metadata.name,
      body,
    })) as ContainerScan;
    this.observeTransitions(scan.status, status);
    return written;
  }

  /**
   * Times what a status write just recorded: nodes whose report arrived and the end of the run. Observed only after
   * the write succeeded (optimistic concurrency), so each transition is counted once, by the replica that made it.
   */
  private observeTransitions(before: ContainerScanStatus | undefined, after: ContainerScanStatus): void {
    const m = this.o.metrics;
    if (!m || !after.startTime || !after.run || before?.run !== after.run) return;
    const since = (at: number) => Math.max(0, (at - Date.parse(after.startTime!)) / 1000);
    const was = new Map((before.nodes ?? []).map((n) => [n.name, n.phase]));
    for (const n of after.nodes ?? []) {
      const old = was.get(n.name);
      if (old !== 'Pending' && old !== 'Ready') continue;
      // A report arrived: a Reported node, or one failed by what its ScanResult said (not by a timeout).
      if (n.phase === 'Reported' || (n.phase === 'Failed' && REPORTED_FAILURES.has(n.reason ?? 'NodeFailed')))
        m.nodeReport.observe({ phase: n.phase }, since(this.clock.now().getTime()));
    }
    const ended = after.phase === 'Completed' || after.phase === 'Failed';
    if (ended && after.completionTime && (before.phase === 'Running' || before.phase === 'TearingDown'))
      m.runDuration.observe({ phase: after.phase! }, since(Date.parse(after.completionTime)));
  }

  private async event(scan: ContainerScan, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    await this.events.record(
      {
        apiVersion: API_VERSION,
        kind: 'ContainerScan',
        name: scan.metadata.name,
        namespace: scan.metadata.namespace,
        uid: scan.metadata.uid,
      },
      type,
      reason,
      message,
    );
  }

  /**
   * Creates the ScanResults of the run that are not recorded in the status yet and returns their UIDs (the caller
   * records them). An object already at such a name is adopted only when it is this scan's and empty; anything
   * else there (an earlier incarnation of the scan, someone else's) is deleted and made again, with an Event.
   */
  private async ensureScanResults(scan: ContainerScan): Promise<Map<string, string>> {
    const namespace = scan.metadata.namespace;
    const run = scan.status!.run!;
    const made = new Map<string, string>();
    const missing = (scan.status?.nodes ?? []).filter((n) => !n.scanResultUID && isWaitedFor(n));
    // Several at a time: thousands of nodes one request after the other would delay the DaemonSet by minutes.
    await inParallel(missing, CREATE_CONCURRENCY, async (n) => {
      const name = scanResultName(run, n.name);
      const body = {
        apiVersion: API_VERSION,
        kind: 'ScanResult',
        metadata: {
          name,
          namespace,
          labels: runLabels(scan.metadata.name, run, 'result'),
          ownerReferences: [ownerRef(scan)],
        },
        spec: { scan: scan.metadata.name, run, node: n.name },
      };
      for (let attempt = 0; attempt < 2 && !made.has(n.name); attempt++) {
        try {
          const created = (await this.c.custom.createNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace,
            plural: RESULTS,
            body,
          })) as ScanResult;
          made.set(n.name, created.metadata.uid);
          // A phase for `kubectl get scanresults` until the reporter writes; the resourceVersion makes this a no-op
          // when the reporter was faster.
          const pending: unknown = await this.c.custom
            .patchNamespacedCustomObjectStatus(
              {
                group: GROUP,
                version: VERSION,
                namespace,
                plural: RESULTS,
                name,
                body: { metadata: { resourceVersion: created.metadata.resourceVersion }, status: { phase: 'Pending' } },
              },
              mergePatch,
            )
            .catch((e: unknown) => {
              if (!isConflict(e)) throw e;
            });
          // Known to be Pending at that version: no need to fetch it until it changes.
          if (pending) this.verdicts.set(verdictKey((pending as ScanResult).metadata), { kind: 'pending' });
        } catch (e) {
          if (!isConflict(e)) throw e;
          const stale = await this.getScanResult(namespace, name);
          if (!stale) continue;
          if (stale.metadata.deletionTimestamp) break;
          // Made for this very ScanResult and still empty: a racing reconcile of this scan (a leader's last
          // moments) or a crash before the status write made it. Adopting an empty object trusts no data.
          if (
            isOwnedBy(stale, scan) &&
            stale.spec?.run === run &&
            stale.spec?.node === n.name &&
            (!stale.status?.phase || stale.status.phase === 'Pending')
          ) {
            made.set(n.name, stale.metadata.uid);
            break;
          }
          log.warn('replacing a ScanResult the controller did not record', {
            scanResult: name,
            uid: stale.metadata.uid,
          });
          await this.event(
            scan,
            'Warning',
            'ForeignScanResult',
            `ScanResult ${name} (uid ${stale.metadata.uid}) existed but was not created by the controller for run ` +
              `${run}; deleted and made again`,
          );
          await deleteIfPresent(() =>
            this.c.custom.deleteNamespacedCustomObject({
              group: GROUP,
              version: VERSION,
              namespace,
              plural: RESULTS,
              name,
              body: { preconditions: { uid: stale.metadata.uid } },
            }),
          );
        }
      }
    });
    return made;
  }

  /** Makes sure the object at a run's name is this scan's: a stale one (another owner) is deleted first. */
  private async ownedOrGone(
    scan: ContainerScan,
    what: string,
    obj: { metadata?: { uid?: string; deletionTimestamp?: unknown; ownerReferences?: { uid: string }[] } } | undefined,
    del: (uid: string) => Promise<unknown>,
  ): Promise<'owned' | 'absent' | 'waiting'> {
    if (!obj) return 'absent';
    if (isOwnedBy(obj, scan)) return obj.metadata?.deletionTimestamp ? 'waiting' : 'owned';
    if (!obj.metadata?.deletionTimestamp) {
      log.info('deleting a stale object of an earlier incarnation of the scan', {
        scan: scan.metadata.name,
        object: what,
      });
      await deleteIfPresent(() => del(obj.metadata!.uid!));
    }
    return 'waiting';
  }

  /** The reporter may patch the status of this run's ScanResults, and nothing else. Decided from what the API holds. */
  private async ensureReporterRbac(scan: ContainerScan, resultNames: string[]): Promise<boolean> {
    const namespace = scan.metadata.namespace;
    const run = scan.status!.run!;
    const name = reporterRoleName(run);
    const sa =
      this.o.reporterServiceAccount ??
      this.o.template.spec?.template.spec?.serviceAccountName ??
      'container-scanner-reporter';
    const metadata = {
      name,
      namespace,
      labels: runLabels(scan.metadata.name, run, 'reporter-rbac'),
      ownerReferences: [ownerRef(scan)],
    };
    const rules = resultNames.length
      ? [{ apiGroups: [GROUP], resources: [`${RESULTS}/status`], resourceNames: resultNames, verbs: ['get', 'patch'] }]
      : [];
    const read = async <T>(get: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await get();
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    };
    const precondition = (uid: string) => ({ preconditions: { uid } });
    const role = await this.ownedOrGone(
      scan,
      `Role ${name}`,
      await read(() => this.c.rbac.readNamespacedRole({ namespace, name })),
      (uid) => this.c.rbac.deleteNamespacedRole({ namespace, name, body: precondition(uid) }),
    );
    if (role === 'absent')
      await createIfAbsent(() => this.c.rbac.createNamespacedRole({ namespace, body: { metadata, rules } }));
    const binding = await this.ownedOrGone(
      scan,
      `RoleBinding ${name}`,
      await read(() => this.c.rbac.readNamespacedRoleBinding({ namespace, name })),
      (uid) => this.c.rbac.deleteNamespacedRoleBinding({ namespace, name, body: precondition(uid) }),
    );
    if (binding === 'absent')
      await createIfAbsent(() =>
        this.c.rbac.createNamespacedRoleBinding({
          namespace,
          body: {
            metadata,
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
            subjects: [{ kind: 'ServiceAccount', name: sa, namespace }],
          },
        }),
      );
    return role !== 'waiting' && binding !== 'waiting';
  }

  /** The run's DaemonSet, with the images of the controller's configuration. */
  private async ensureDaemonSet(scan: ContainerScan, current: V1DaemonSet | undefined): Promise<boolean> {
    const namespace = scan.metadata.namespace;
    const run = scan.status!.run!;
    if ((scan.status?.nodes ?? []).length === 0) return true;
    const state = await this.ownedOrGone(scan, `DaemonSet ${daemonSetName(run)}`, current, (uid) =>
      this.c.apps.deleteNamespacedDaemonSet({
        namespace,
        name: daemonSetName(run),
        propagationPolicy: 'Background',
        body: { preconditions: { uid } },
      }),
    );
    if (state !== 'absent') return state === 'owned';
    const ds = renderDaemonSet(this.o.template, scan, run, this.o.images);
    if (this.o.reporterServiceAccount) ds.spec!.template.spec!.serviceAccountName = this.o.reporterServiceAccount;
    if (await createIfAbsent(() => this.c.apps.createNamespacedDaemonSet({ namespace, body: ds }))) {
      log.info('scanner DaemonSet created', { namespace, name: ds.metadata!.name });
      await this.event(scan, 'Normal', 'DaemonSetCreated', `created DaemonSet ${ds.metadata!.name}`);
    }
    return true;
  }

  /** The controller's verdict on a node, written where that node's details live (its ScanResult). */
  private async failScanResult(scan: ContainerScan, node: string, uid: string, error: string): Promise<void> {
    const namespace = scan.metadata.namespace;
    const name = scanResultName(scan.status!.run!, node);
    try {
      await this.c.custom.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace,
          plural: RESULTS,
          name,
          body: { metadata: { uid }, status: { phase: 'Failed', error: error.slice(0, 4096) } },
        },
        mergePatch,
      );
    } catch (e) {
      // Gone or replaced: the ContainerScan status still holds the verdict.
      if (statusCode(e) !== 404 && statusCode(e) !== 409 && statusCode(e) !== 422) throw e;
    }
  }

  private async publish(scan: ContainerScan, status: ContainerScanStatus, now: Date): Promise<PublicationOutcome> {
    const namespace = scan.metadata.namespace;
    const run = status.run!;
    // Judged once more: only the recorded object, and only a tree that passes the rules, is merged. The run's
    // ScanResults are read a page at a time, each tree hashed into the merge and dropped.
    const expected = this.expected({ ...scan, status });
    const reported = new Set((status.nodes ?? []).filter((n) => n.phase === 'Reported').map((n) => n.name));
    const merger = new TreeMerger();
    const labelSelector = `${LABEL_RUN}=${run}`;
    for await (const page of paged(
      async (cont) =>
        (await this.c.custom.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: RESULTS,
          labelSelector,
          limit: MERGE_PAGE,
          ...(cont ? { _continue: cont } : {}),
        })) as { items: ScanResult[]; metadata?: { continue?: string } },
    ))
      for (const r of page) {
        const want = expected.get(r.metadata.name);
        if (!want || !reported.has(want.node)) continue;
        const verdict = judgeScanResult(r, want);
        if (verdict.kind === 'reported') merger.add(want.node, verdict.tree);
        else
          status.errors = capErrors([
            ...(status.errors ?? []),
            `node ${want.node}: report no longer usable at publication ` +
              `(${verdict.kind === 'failed' ? verdict.error : verdict.kind})`,
          ]);
      }
    const merged = merger.result();
    const scanKey = `${namespace}/${scan.metadata.name}`;
    if (merged.warnings.length)
      log.warn('containers reported by more than one node', {
        scan: scanKey,
        run,
        count: merged.warnings.length,
        first: merged.warnings.slice(0, 5),
      });
    const pub = buildPublication({
      namespace,
      scan: scan.metadata.name,
      run,
      completedAt: now,
      tree: merged.tree,
      nodes: {
        targeted: status.nodesDesired ?? 0,
        reported: status.nodesReported ?? 0,
        failed: status.nodesFailed ?? 0,
      },
      errors: status.errors ?? [],
      labels: runLabels(scan.metadata.name, run, 'result'),
      ownerReferences: [ownerRef(scan)],
      ...(this.o.maxShardBytes ? { maxShardBytes: this.o.maxShardBytes } : {}),
      nodesOf: (ns, pod) => merger.nodesOf(ns, pod),
    });
    const omittedErrors = pub.omitted.map((p) => omittedPodError(p, pub.maxShardBytes));
    if (pub.omitted.length)
      log.warn('pods left out of the result, each too large to publish', {
        scan: scanKey,
        run,
        count: pub.omitted.length,
        first: omittedErrors.slice(0, 5),
      });
    // Nothing left but pods too large: an empty result would read as "no containers" and replace the last good one.
    if (pub.omitted.length && pub.index.containers === 0) {
      const error = `every pod of the result is too large to publish (${pub.omitted.length} pod(s))`;
      log.error(`result not published: ${error}`, { scan: scanKey, run });
      return { kind: 'failed', error, omittedErrors };
    }
    const tooLarge = unpublishable(pub);
    if (tooLarge) {
      log.error(`result not published: ${tooLarge}`, { scan: scanKey, run });
      return { kind: 'failed', error: tooLarge, omittedErrors };
    }
    // Shards first, index last: a reader who finds the index finds every shard it names.
    for (const cm of pub.configMaps) {
      const name = cm.metadata!.name!;
      try {
        const created = await createIfAbsent(() => this.c.core.createNamespacedConfigMap({ namespace, body: cm }));
        if (!created) await this.c.core.replaceNamespacedConfigMap({ namespace, name, body: cm });
      } catch (e) {
        // An outage or a timeout is retried with the reconcile; a refusal (a quota, an admission policy, RBAC) is
        // the run's outcome: it is not published, and what it wrote of its result is removed again.
        if (!isRefusal(e)) throw e;
        const error = `the API server refused ConfigMap ${name}: ${describeError(e)}`;
        log.error(`result not published: ${error}`, { scan: scanKey, run });
        for (const written of pub.configMaps)
          await deleteIfPresent(() =>
            this.c.core.deleteNamespacedConfigMap({ namespace, name: written.metadata!.name! }),
          ).catch((err: unknown) =>
            log.warn('could not remove a ConfigMap of an unpublished result', {
              configMap: written.metadata!.name!,
              error: describeError(err),
            }),
          );
        return { kind: 'failed', error, omittedErrors };
      }
    }
    this.o.metrics?.published.set({ scan: scanKey }, pub.index.containers);
    log.info('result published', {
      scan: scanKey,
      run,
      configMap: indexName(run),
      shards: pub.index.shards.length,
      containers: pub.index.containers,
      omittedPods: pub.omitted.length,
    });
    const result: PublishedResult = {
      run,
      configMap: indexName(run),
      shards: pub.index.shards.length,
      containers: pub.index.containers,
    };
    if (pub.omitted.length) {
      result.omittedPods = pub.omitted.length;
      result.omittedPodNames = pub.omitted.slice(0, OMITTED_NAMES).map((p) => `${p.namespace}/${p.pod}`);
    }
    return { kind: 'published', result, omittedErrors };
  }

  /**
   * Points `<scan>-latest` at the completed run's result (a copy of its index, with the errors that came after
   * publishing). A run that published nothing leaves the pointer at the previous result. Returns why the API server
   * refused the pointer (the run then fails), or undefined.
   */
  private async publishLatest(scan: ContainerScan, status: ContainerScanStatus): Promise<string | undefined> {
    const namespace = scan.metadata.namespace;
    const run = status.run;
    if (!run || !status.result) return undefined;
    let runIndex: V1ConfigMap;
    try {
      runIndex = await this.c.core.readNamespacedConfigMap({ namespace, name: indexName(run) });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      log.warn('run index gone before the latest pointer was written', {
        scan: `${namespace}/${scan.metadata.name}`,
        run,
      });
      return undefined;
    }
    const name = latestName(scan.metadata.name);
    const body = buildLatest(runIndex, status.errors ?? [], {
      name,
      namespace,
      labels: runLabels(scan.metadata.name, run, 'result'),
      ownerReferences: [ownerRef(scan)],
    });
    try {
      const created = await createIfAbsent(() => this.c.core.createNamespacedConfigMap({ namespace, body }));
      if (!created) await this.c.core.replaceNamespacedConfigMap({ namespace, name, body });
    } catch (e) {
      if (!isRefusal(e)) throw e;
      log.error('latest pointer refused; the run is not published', {
        scan: `${namespace}/${scan.metadata.name}`,
        run,
        error: describeError(e),
      });
      return describeError(e);
    }
    return undefined;
  }

  /** What `<scan>-latest` points at now, as status.result says it (undefined: no pointer yet). */
  private async pointedResult(namespace: string, pointer: string): Promise<PublishedResult | undefined> {
    let cm: V1ConfigMap;
    try {
      cm = await this.c.core.readNamespacedConfigMap({ namespace, name: pointer });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    const index = JSON.parse(cm.data?.[INDEX_KEY] ?? '{}') as Partial<ResultIndex>;
    if (!index.run) return undefined;
    return {
      run: index.run,
      configMap: indexName(index.run),
      shards: index.shards?.length ?? 0,
      containers: index.containers ?? 0,
    };
  }

  private async deleteRunObjects(scan: ContainerScan): Promise<void> {
    const namespace = scan.metadata.namespace;
    const run = scan.status!.run!;
    const objects: [PrunableKind, string][] = [
      [PRUNABLE.daemonSet, daemonSetName(run)],
      [PRUNABLE.roleBinding, reporterRoleName(run)],
      [PRUNABLE.role, reporterRoleName(run)],
    ];
    for (const [kind, name] of objects) await deleteIfPresent(() => kind.remove(this.c, namespace, name));
  }

  /** Past the teardown timeout: pods go without grace and a stuck DaemonSet loses its finalizers. */
  private async forcePrune(scan: ContainerScan): Promise<void> {
    const namespace = scan.metadata.namespace;
    const run = scan.status!.run!;
    // Named from metadata pages, terminating ones too (they are what is stuck): the run's pods as full objects are
    // some 9 KB each, at 5000 nodes a 40 MB answer decoded twice by the client.
    const pods = await listAll(this.c, namespace, PRUNABLE.pod, `${LABEL_RUN}=${run},${LABEL_COMPONENT}=scanner`);
    const names = pods.map((p) => p.name);
    await inParallel(names, DELETE_CONCURRENCY, (name) =>
      deleteIfPresent(() => this.c.core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 })),
    );
    try {
      const ds = await this.c.apps.readNamespacedDaemonSet({ namespace, name: daemonSetName(run) });
      if (ds.metadata?.finalizers?.length) {
        await this.c.apps.replaceNamespacedDaemonSet({
          namespace,
          name: daemonSetName(run),
          body: { ...ds, metadata: { ...ds.metadata, finalizers: [] } },
        });
      }
      await deleteIfPresent(() =>
        this.c.apps.deleteNamespacedDaemonSet({
          namespace,
          name: daemonSetName(run),
          propagationPolicy: 'Background',
          gracePeriodSeconds: 0,
        }),
      );
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    log.warn('run objects pruned by force', {
      scan: `${namespace}/${scan.metadata.name}`,
      run,
      pods: names.length,
    });
  }

  /**
   * Leftovers of finished runs (a crashed controller, an older version): scanner DaemonSets, their pods and
   * reporter RBAC of runs numbered up to `upTo`. Later runs are left alone: a racing reconciler (an old leader's last
   * moments) may just have started one.
   */
  async pruneLeftovers(scan: ContainerScan, upTo: number): Promise<void> {
    const selector = `${LABEL_SCAN}=${scan.metadata.name}`;
    const steps = [
      { kind: PRUNABLE.daemonSet, selector },
      { kind: PRUNABLE.pod, selector: `${selector},${LABEL_COMPONENT}=scanner` },
      { kind: PRUNABLE.roleBinding, selector },
      { kind: PRUNABLE.role, selector },
    ];
    const stale = (labels: Labels) => {
      const run = labels?.[LABEL_RUN];
      return run !== undefined && runNumberOf(run) <= upTo;
    };
    await prune(this.c, scan.metadata.namespace, steps, stale, 'pruning leftovers of finished runs');
  }

  /**
   * Keeps the published results and ScanResults of the last historyLimit runs, and always the result readers are
   * pointed at (`<scan>-latest` and the run it names; status.result): runs that published nothing do not push the
   * last good result out.
   */
  private async pruneHistory(scan: ContainerScan, status = scan.status): Promise<void> {
    const keepFrom = (status?.runNumber ?? 0) - (scan.spec.historyLimit ?? 3) + 1;
    const selector = `${LABEL_SCAN}=${scan.metadata.name}`;
    const steps = [
      { kind: PRUNABLE.configMap, selector: `${selector},${LABEL_COMPONENT}=result` },
      { kind: PRUNABLE.scanResult, selector },
    ];
    const pointed = new Set<string>();
    if (status?.result?.run) pointed.add(status.result.run);
    try {
      const pointer = await this.c.core.readNamespacedConfigMap(
        { namespace: scan.metadata.namespace, name: latestName(scan.metadata.name) },
        metadataOnly,
      );
      const run = pointer.metadata?.labels?.[LABEL_RUN];
      if (run) pointed.add(run);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const old = (labels: Labels) => {
      const run = labels?.[LABEL_RUN];
      const n = runNumberOf(run);
      return n >= 0 && n < keepFrom && !pointed.has(run!);
    };
    await prune(this.c, scan.metadata.namespace, steps, old, 'pruning history');
  }

  /**
   * Start-up sweep. Scanner DaemonSets whose ContainerScan is gone, or is not running that run any more, are
   * removed; results, ScanResults and reporter RBAC of ContainerScans that are gone too (garbage collection
   * usually does this through the owner references, but it may be off or late); and every remaining scan's
   * history is trimmed to its historyLimit.
   */
  async sweep(namespace: string): Promise<void> {
    const scans = new Map<string, ContainerScan>();
    const list = (await this.c.custom.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: SCANS,
    })) as { items: ContainerScan[] };
    for (const s of list.items) scans.set(s.metadata.name, s);

    const inactive = (labels: Labels) => {
      const scanName = labels?.[LABEL_SCAN];
      if (!scanName) return false;
      const status = scans.get(scanName)?.status;
      return !(status?.run === labels?.[LABEL_RUN] && (status?.phase === 'Running' || status?.phase === 'TearingDown'));
    };
    const scanners = [{ kind: PRUNABLE.daemonSet, selector: `${LABEL_COMPONENT}=scanner` }];
    await prune(this.c, namespace, scanners, inactive, 'sweeping DaemonSets of no running run');

    const orphan = (labels: Labels) => {
      const s = labels?.[LABEL_SCAN];
      return s !== undefined && !scans.has(s);
    };
    const leftovers = [
      { kind: PRUNABLE.configMap, selector: `${LABEL_COMPONENT}=result` },
      { kind: PRUNABLE.scanResult, selector: LABEL_SCAN },
      { kind: PRUNABLE.roleBinding, selector: `${LABEL_COMPONENT}=reporter-rbac` },
      { kind: PRUNABLE.role, selector: `${LABEL_COMPONENT}=reporter-rbac` },
    ];
    await prune(this.c, namespace, leftovers, orphan, 'sweeping objects of deleted ContainerScans');
    for (const scan of scans.values()) if (scan.status?.runNumber) await this.pruneHistory(scan);
  }
}

/** A node the run still waits for (its ScanResult must exist and be recorded). */
function isWaitedFor(n: { phase: string }): boolean {
  return n.phase === 'Pending' || n.phase === 'Ready';
}

export function isOwnedBy(obj: { metadata?: { ownerReferences?: { uid: string }[] } }, scan: ContainerScan): boolean {
  return (obj.metadata?.ownerReferences ?? []).some((r) => r.uid === scan.metadata.uid);
}

function eventTime(e: { lastTimestamp?: Date; eventTime?: Date; metadata?: { creationTimestamp?: Date } }): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

function verdictKey(meta: { uid?: string; resourceVersion?: string }): string {
  return `${meta.uid}/${meta.resourceVersion}`;
}

/** A verdict without the tree it was made from. */
function summarize(v: Verdict): Judged {
  return v.kind === 'reported' ? { kind: 'reported', containers: v.containers, detected: v.detected } : v;
}
