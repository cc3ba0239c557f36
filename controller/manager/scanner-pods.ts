/**
 * What the controller knows of the scanner pods: per pod, only the run, the node, whether it is ready and what is
 * wrong with it, kept from a list and the watch that follows it. A reconcile asks this instead of listing every pod
 * of its run (at 5000 nodes: 10 pages of some 9 KB per pod, 1.6 s of CPU, each time); the pods' objects are decoded
 * once per change, summarized and dropped, so what is held is a few hundred bytes per pod.
 */
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { summarize, type PodSummary, type ScannerPodView } from '../reconcile/pods.js';

/** One page of a pod list. */
export interface PodPage {
  items: V1Pod[];
  metadata?: { resourceVersion?: string; _continue?: string };
}

export class ScannerPods implements ScannerPodView {
  private pods = new Map<string, PodSummary>();
  private current = false;

  ofRun(run: string): PodSummary[] | undefined {
    if (!this.current) return undefined;
    return [...this.pods.values()].filter((p) => p.run === run);
  }

  /**
   * Lists the pods afresh, a page at a time (each page summarized and dropped), and returns the version of the list
   * for the watch that follows it.
   */
  async relist(page: (cont: string | undefined) => Promise<PodPage>): Promise<string> {
    const next = new Map<string, PodSummary>();
    let version = '';
    let cont: string | undefined;
    do {
      const list = await page(cont);
      // Every page of one list is a snapshot at the first page's version.
      version ||= list.metadata?.resourceVersion ?? '';
      for (const p of list.items ?? []) if (p.metadata?.name) next.set(p.metadata.name, summarize(p));
      cont = list.metadata?._continue || undefined;
    } while (cont);
    this.pods = next;
    this.current = true;
    return version;
  }

  /** One event of the watch that follows the list. */
  apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', o: KubernetesObject): void {
    const name = o.metadata?.name;
    if (!name) return;
    if (type === 'DELETED') this.pods.delete(name);
    else this.pods.set(name, summarize(o));
  }

  /** The watch failed: answer nothing until the next list (reconciles list the pods themselves meanwhile). */
  stale(): void {
    this.current = false;
  }

  get size(): number {
    return this.pods.size;
  }
}
