/**
 * A watch that only wakes: the objects of runs (ScanResults, scanner pods, DaemonSets) tell the controller which
 * ContainerScan to look at, and nothing more. Unlike an informer it keeps no cache, so its memory does not grow with
 * the cluster or the retained history: it watches metadata only (no trees, no pod specs) from the resourceVersion of
 * a one-item list, and after a watch ends it starts again from the last version seen, or from a fresh list (and
 * wakes every scan, in case it missed something) when that version is too old.
 */
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { log } from '../util/log.js';
import { sleep } from '../util/sleep.js';
import { metadataWatchConfig } from '../kube/metadata.js';
import { BoundedWatch, DEFAULT_WATCH_TIMEOUT_MS } from '../kube/timeouts.js';

export interface WakerOptions {
  kc: KubeConfig;
  /** The collection's path, e.g. /api/v1/namespaces/ns/pods. */
  path: string;
  labelSelector: string;
  /**
   * The current resourceVersion of the collection (a list with limit 1; or a full list whose caller keeps a summary,
   * which is then made afresh whenever the watch starts over).
   */
  currentVersion: () => Promise<string>;
  /** Called for every added, changed or deleted object. */
  onObject: (o: KubernetesObject, type: 'ADDED' | 'MODIFIED' | 'DELETED') => void;
  /** Called when a watch failed or its version expired: what it kept track of is stale until the next list. */
  onStale?: () => void;
  /** Watch whole objects (for a caller that keeps a summary of each) instead of their metadata. */
  wholeObjects?: boolean;
  /** Called when events may have been missed (a restart from a fresh list). */
  onResync: () => void;
  /** Pause before a watch that failed is started again. */
  retryMs?: number;
  /** The server ends each watch after this long; one silent for longer (plus a margin) is restarted. */
  watchTimeoutMs?: number;
}

export class Waker {
  private stopped = false;
  private abort: AbortController | undefined;
  private version = '';
  private ended: Promise<void> = Promise.resolve();

  constructor(private readonly o: WakerOptions) {}

  /** Resolves once the first watch is established (its starting version read). */
  async start(): Promise<void> {
    this.version = await this.o.currentVersion();
    this.ended = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    await this.ended;
  }

  private async loop(): Promise<void> {
    const kc = this.o.wholeObjects ? this.o.kc : metadataWatchConfig(this.o.kc);
    const watch = new BoundedWatch(kc, this.o.watchTimeoutMs ?? DEFAULT_WATCH_TIMEOUT_MS);
    while (!this.stopped) {
      let gone = false;
      const error = await new Promise<Error | null | undefined>((done) => {
        void watch
          .watch(
            this.o.path,
            { labelSelector: this.o.labelSelector, resourceVersion: this.version, allowWatchBookmarks: true },
            (type: string, obj: KubernetesObject & { code?: number }) => {
              if (type === 'ERROR') {
                gone ||= obj.code === 410;
                return;
              }
              if (obj.metadata?.resourceVersion) this.version = obj.metadata.resourceVersion;
              if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') this.o.onObject(obj, type);
            },
            done,
          )
          .then((c) => {
            this.abort = c;
            if (this.stopped) c.abort(); // stopped while the watch was being set up
          });
      });
      if (this.stopped) return;
      if (error) log.warn('watch failed; starting it again', { path: this.o.path, error: error.message });
      if (error || gone) {
        this.o.onStale?.();
        await sleep(this.o.retryMs ?? 3000);
      }
      if (gone || error) {
        try {
          this.version = await this.o.currentVersion();
          this.o.onResync();
        } catch (e) {
          log.warn('could not read the current version; retrying', { path: this.o.path, error: String(e) });
        }
      }
    }
  }
}
