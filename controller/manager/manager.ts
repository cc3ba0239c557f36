/**
 * Controller mode: informers on ContainerScans and on the objects of their runs feed a work queue whose handler
 * is the reconciler.
 */
import { ListWatch, type Informer, type KubernetesObject } from '@kubernetes/client-node';
import { GROUP, LABEL_COMPONENT, LABEL_SCAN, RESULTS, SCANS, VERSION, type ContainerScan } from '../api/resources.js';
import { describeError, type Clients } from '../kube/clients.js';
import { metadataList } from '../kube/metadata.js';
import { BoundedWatch } from '../kube/timeouts.js';
import { Waker } from './waker.js';
import { ScannerPods } from './scanner-pods.js';
import { log } from '../util/log.js';
import { WorkQueue } from './queue.js';
import { sleep } from '../util/sleep.js';
import { Reconciler } from '../reconcile/reconciler.js';
import type { Metrics } from './metrics.js';

/** Scanner pods per page of the list that (re)starts their watch. */
const POD_LIST_PAGE = 500;

export interface ManagerOptions {
  clients: Clients;
  namespace: string;
  reconciler: Reconciler;
  metrics: Metrics;
  concurrency?: number;
  /** Every scan is reconciled at least this often (ms), whatever the watches say. */
  resyncMs?: number;
}

export class Manager {
  private scans: Informer<ContainerScan & KubernetesObject> | undefined;
  private readonly wakers: Waker[] = [];
  private readonly pods = new ScannerPods();
  private readonly queue: WorkQueue;
  private synced = false;
  private stopping = false;
  private resync: NodeJS.Timeout | undefined;

  constructor(private readonly o: ManagerOptions) {
    this.queue = new WorkQueue(
      async (key) => {
        const [ns, name] = key.split('/') as [string, string];
        try {
          return await o.reconciler.reconcile(ns, name);
        } finally {
          o.metrics.queueDepth.set(this.queue.depth);
        }
      },
      { concurrency: o.concurrency ?? 4 },
    );
  }

  get isSynced(): boolean {
    return this.synced;
  }

  enqueue(namespace: string, name: string, delayMs = 0): void {
    this.queue.add(`${namespace}/${name}`, delayMs);
  }

  async start(): Promise<void> {
    const { custom, core, apps } = this.o.clients;
    const ns = this.o.namespace;
    const selector = `${LABEL_COMPONENT}`;
    // Every namespace's ContainerScans are watched, so that one outside this namespace is told it is not handled
    // (docs/adr/0005) instead of being silently ignored.
    // client-node's informer (makeInformer) with a bounded watch: its own would wait forever on a hung connection.
    const scans = new ListWatch<ContainerScan & KubernetesObject>(
      `/apis/${GROUP}/${VERSION}/${SCANS}`,
      new BoundedWatch(this.o.clients.kc, this.o.clients.timeouts.watchMs),
      async () => (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: SCANS })) as never,
      false,
    );
    const onScan = (o: ContainerScan) => this.enqueue(o.metadata.namespace, o.metadata.name);
    scans.on('add', onScan);
    scans.on('update', onScan);
    // Objects of a run wake their ContainerScan, named by label. Only to wake it: they are watched as metadata and
    // not cached (no ScanResult trees, no pod specs, no history), and the reconciler reads what it needs itself.
    const byLabel = (o: KubernetesObject) => {
      const scan = o.metadata?.labels?.[LABEL_SCAN];
      if (scan && o.metadata?.namespace) this.enqueue(o.metadata.namespace, scan);
    };
    const allScans = () => {
      for (const s of scans.list()) this.enqueue(s.metadata.namespace, s.metadata.name);
    };
    const version = async (list: Promise<unknown>) =>
      ((await list) as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion ?? '';
    const page = { namespace: ns, labelSelector: selector, limit: 1 };
    const wakers = [
      {
        path: `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${RESULTS}`,
        currentVersion: () =>
          version(
            custom.listNamespacedCustomObject(
              { group: GROUP, version: VERSION, plural: RESULTS, ...page },
              metadataList,
            ),
          ),
      },
      {
        path: `/apis/apps/v1/namespaces/${ns}/daemonsets`,
        currentVersion: () => version(apps.listNamespacedDaemonSet(page, metadataList)),
      },
      // Scanner pods whole: each change is summarized (run, node, readiness, problem) for the reconciles, which
      // then need not list every pod of their run each time.
      {
        path: `/api/v1/namespaces/${ns}/pods`,
        wholeObjects: true,
        currentVersion: () =>
          this.pods.relist((cont) =>
            core.listNamespacedPod({
              namespace: ns,
              labelSelector: selector,
              limit: POD_LIST_PAGE,
              ...(cont ? { _continue: cont } : {}),
            }),
          ),
        onObject: (o: KubernetesObject, type: 'ADDED' | 'MODIFIED' | 'DELETED') => {
          this.pods.apply(type, o);
          byLabel(o);
        },
        onStale: () => this.pods.stale(),
      },
    ].map(
      (w) =>
        new Waker({
          kc: this.o.clients.kc,
          labelSelector: selector,
          onObject: byLabel,
          onResync: allScans,
          watchTimeoutMs: this.o.clients.timeouts.watchMs,
          ...w,
        }),
    );
    // client-node's informer stops on a watch error; start it again after a pause.
    scans.on('error', (err: unknown) => {
      if (this.stopping) return;
      log.warn('watch failed; restarting it', { error: err instanceof Error ? err.message : String(err) });
      setTimeout(() => void scans.start().catch(() => undefined), 3000).unref?.();
    });
    this.scans = scans;
    // A fresh install or an API server that just restarted answers 429/5xx for a moment (e.g. a new CRD's storage
    // is still initializing): retry for a while before giving up on starting.
    await retrying('start-up sweep', () => this.o.reconciler.sweep(ns));
    for (const w of wakers) {
      await retrying('watch start', () => w.start());
      this.wakers.push(w);
    }
    // Listed and watched from here on: reconciles read the pods' summaries instead of listing them.
    this.o.reconciler.useScannerPods(this.pods);
    await retrying('informer start', () => scans.start());
    this.synced = true;
    // A safety net for events lost between a watch error and its restart: look at every scan now and then.
    this.resync = setInterval(allScans, this.o.resyncMs ?? 300_000);
    this.resync.unref?.();
    log.info('controller started', { namespace: ns });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.resync) clearInterval(this.resync);
    await this.scans?.stop().catch(() => undefined);
    for (const w of this.wakers) await w.stop();
    this.pods.stale();
    await this.queue.stop();
  }
}

/** Retries fn with a growing pause (1 s up to 5 s) for about a minute, then throws its last error. */
async function retrying(what: string, fn: () => Promise<unknown>, forMs = 60_000): Promise<void> {
  const deadline = Date.now() + forMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await fn();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      log.warn(`${what} failed; retrying`, { attempt, error: describeError(e) });
      await sleep(Math.min(1000 * attempt, 5000));
    }
  }
}
