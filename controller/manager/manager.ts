/**
 * Controller mode: informers on ContainerScans and on the objects of their runs feed a work queue whose handler
 * is the reconciler.
 */
import {
  makeInformer,
  type Informer,
  type KubernetesObject,
  type V1DaemonSet,
  type V1Pod,
} from '@kubernetes/client-node';
import {
  GROUP,
  LABEL_COMPONENT,
  LABEL_SCAN,
  RESULTS,
  SCANS,
  VERSION,
  type ContainerScan,
  type ScanResult,
} from '../api/resources.js';
import { describeError, type Clients } from '../kube/clients.js';
import { log } from '../util/log.js';
import { WorkQueue } from './queue.js';
import { sleep } from '../util/sleep.js';
import { Reconciler } from '../reconcile/reconciler.js';
import type { Metrics } from './metrics.js';

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
  private readonly informers: Informer<KubernetesObject>[] = [];
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
    const scans = makeInformer<ContainerScan & KubernetesObject>(
      this.o.clients.kc,
      `/apis/${GROUP}/${VERSION}/${SCANS}`,
      async () => (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: SCANS })) as never,
    );
    const onScan = (o: ContainerScan) => this.enqueue(o.metadata.namespace, o.metadata.name);
    scans.on('add', onScan);
    scans.on('update', onScan);
    // Objects of a run wake their ContainerScan, named by label.
    const byLabel = (o: KubernetesObject) => {
      const scan = o.metadata?.labels?.[LABEL_SCAN];
      if (scan && o.metadata?.namespace) this.enqueue(o.metadata.namespace, scan);
    };
    const results = makeInformer<ScanResult & KubernetesObject>(
      this.o.clients.kc,
      `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${RESULTS}`,
      async () =>
        (await custom.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: RESULTS,
          labelSelector: selector,
        })) as never,
      selector,
    );
    const daemonSets = makeInformer<V1DaemonSet>(
      this.o.clients.kc,
      `/apis/apps/v1/namespaces/${ns}/daemonsets`,
      () => apps.listNamespacedDaemonSet({ namespace: ns, labelSelector: selector }),
      selector,
    );
    const pods = makeInformer<V1Pod>(
      this.o.clients.kc,
      `/api/v1/namespaces/${ns}/pods`,
      () => core.listNamespacedPod({ namespace: ns, labelSelector: selector }),
      selector,
    );
    for (const inf of [results, daemonSets, pods] as Informer<KubernetesObject>[]) {
      inf.on('add', byLabel);
      inf.on('update', byLabel);
      inf.on('delete', byLabel);
    }
    for (const inf of [scans, results, daemonSets, pods] as Informer<KubernetesObject>[]) {
      // client-node's informer stops on a watch error; start it again after a pause.
      inf.on('error', (err: unknown) => {
        if (this.stopping) return;
        log.warn('watch failed; restarting it', { error: err instanceof Error ? err.message : String(err) });
        setTimeout(() => void inf.start().catch(() => undefined), 3000).unref?.();
      });
      this.informers.push(inf);
    }
    // A fresh install or an API server that just restarted answers 429/5xx for a moment (e.g. a new CRD's storage
    // is still initializing): retry for a while before giving up on starting.
    await retrying('start-up sweep', () => this.o.reconciler.sweep(ns));
    for (const inf of this.informers) await retrying('informer start', () => inf.start());
    this.synced = true;
    // A safety net for events lost between a watch error and its restart: look at every scan now and then.
    this.resync = setInterval(() => {
      for (const s of scans.list()) this.enqueue(s.metadata.namespace, s.metadata.name);
    }, this.o.resyncMs ?? 300_000);
    this.resync.unref?.();
    log.info('controller started', { namespace: ns });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.resync) clearInterval(this.resync);
    for (const inf of this.informers) await inf.stop().catch(() => undefined);
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
