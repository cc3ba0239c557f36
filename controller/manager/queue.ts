import PQueue from 'p-queue';
import { log } from '../util/log.js';

export interface QueueOptions {
  concurrency?: number;
  /** First retry delay after a failure; doubles each time up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
}

/** setTimeout's longest delay; later requeues are re-armed when they fire. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A work queue of keys (namespace/name) on a bounded p-queue: a key is never processed twice at once, a key added
 * while it runs is processed again after, failures are retried with exponential backoff, and a handler can ask to
 * be called again after a delay.
 */
export class WorkQueue {
  private readonly pq: PQueue;
  private readonly queued = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { due: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly handler: (key: string) => Promise<number | undefined>,
    private readonly opts: QueueOptions = {},
  ) {
    this.pq = new PQueue({ concurrency: opts.concurrency ?? 4 });
  }

  get depth(): number {
    return this.queued.size;
  }

  add(key: string, delayMs = 0): void {
    if (this.stopped) return;
    if (delayMs > 0) return this.addAfter(key, delayMs);
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    void this.pq.add(() => this.process(key));
  }

  private addAfter(key: string, delayMs: number): void {
    const due = Date.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing && existing.due <= due) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(
      () => {
        this.timers.delete(key);
        const left = due - Date.now();
        if (left > 0) this.addAfter(key, left);
        else this.add(key);
      },
      Math.min(delayMs, MAX_TIMER_MS),
    );
    timer.unref?.();
    this.timers.set(key, { due, timer });
  }

  private async process(key: string): Promise<void> {
    this.queued.delete(key);
    this.running.add(key);
    try {
      const requeue = await this.handler(key);
      this.failures.delete(key);
      if (requeue !== undefined) this.add(key, Math.max(requeue, 1));
    } catch (e) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = Math.min((this.opts.baseBackoffMs ?? 500) * 2 ** (n - 1), this.opts.maxBackoffMs ?? 60_000);
      log.warn('reconcile failed; retrying', {
        key,
        attempt: n,
        retryInMs: delay,
        error: e instanceof Error ? e.message : String(e),
      });
      this.add(key, delay);
    } finally {
      this.running.delete(key);
      if (this.dirty.delete(key)) this.add(key);
    }
  }

  /** Drops pending work and timers, then waits for running handlers (at most timeoutMs). */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.pq.clear();
    this.queued.clear();
    await Promise.race([this.pq.onIdle(), new Promise((r) => setTimeout(r, timeoutMs).unref?.())]);
  }
}
