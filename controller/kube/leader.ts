import { Observable, type ConfigurationOptions, type ObservableMiddleware } from '@kubernetes/client-node';
import { describeError, isConflict, isNotFound, type Clients } from './clients.js';
import { log } from '../util/log.js';
import { systemClock, type Clock } from '../reconcile/runstate.js';

/** client-go's leader election defaults (leaderelection.LeaderElectionConfig, as kube-controller-manager uses). */
export const LEADER_DEFAULTS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  /** How long a follower waits, after it last saw the lease change, before it may take it. */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it stops leading. Shorter than the lease duration. */
  renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew. */
  retryPeriodMs?: number;
  clock?: Clock;
}

/**
 * A Lease as plain JSON: its times are MicroTime (6 fractional digits), which client-node's typed Date cannot
 * write.
 */
interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

const LEASES = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' };

/** Checks the timings as client-go does: lease > renew deadline > retry period (with jitter room). */
export function checkLeaderTimings(t: {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}): void {
  if (!(t.leaseDurationMs > t.renewDeadlineMs))
    throw new Error('--lease-duration must be greater than --renew-deadline');
  if (!(t.renewDeadlineMs > 1.2 * t.retryPeriodMs))
    throw new Error('--renew-deadline must be greater than 1.2 x --retry-period');
  if (!(t.retryPeriodMs > 0)) throw new Error('--retry-period must be positive');
}

/** Request options that abort a request after ms: a hung connection must not hold the election loop. */
type RequestOptions = ConfigurationOptions<ObservableMiddleware>;

function timeoutOption(ms: number): RequestOptions {
  return {
    middleware: [
      {
        pre: (ctx) => {
          ctx.setSignal(AbortSignal.timeout(Math.max(1, Math.round(ms))));
          return new Observable(Promise.resolve(ctx));
        },
        post: (res) => new Observable(Promise.resolve(res)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/**
 * Leader election on a coordination.k8s.io Lease with client-go's semantics, so that only one replica reconciles:
 *
 * - A follower tries every retry period and takes the lease only when it is free, or when it has not seen the
 *   lease change for a whole lease duration (measured on its own clock, so clock skew between replicas does not
 *   matter).
 * - The leader renews every retry period. When it could not renew for the renew deadline it stops leading; a
 *   timer enforces this even while a request hangs, and every request is aborted at the deadline. So the leader
 *   stops acting at most renewDeadline + retryPeriod after its last successful renewal, before any follower may
 *   take the lease (leaseDuration after it last saw it change), and an outage shorter than the renew deadline
 *   goes unnoticed.
 */
export class LeaderElector {
  private timer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private leading = false;
  private stopped = false;
  /** Start time of the last successful acquire or renew. */
  private lastRenew = 0;
  private observed: { record: string; at: number } | undefined;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  private readonly clock: Clock;

  constructor(
    private readonly c: Clients,
    private readonly o: LeaderOptions,
  ) {
    this.leaseDurationMs = o.leaseDurationMs ?? LEADER_DEFAULTS.leaseDurationMs;
    this.renewDeadlineMs = o.renewDeadlineMs ?? LEADER_DEFAULTS.renewDeadlineMs;
    this.retryPeriodMs = o.retryPeriodMs ?? LEADER_DEFAULTS.retryPeriodMs;
    checkLeaderTimings(this);
    this.clock = o.clock ?? systemClock;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Calls onStart when leadership is gained and onStop when it is lost (the caller must then stop at once). */
  start(onStart: () => void, onStop: () => void): void {
    const lose = (why: string) => {
      if (!this.leading) return;
      this.leading = false;
      this.stopped = true;
      if (this.timer) clearTimeout(this.timer);
      if (this.watchdog) clearTimeout(this.watchdog);
      log.error('lost leadership', { lease: `${this.o.namespace}/${this.o.name}`, why });
      onStop();
    };
    const armWatchdog = () => {
      if (this.watchdog) clearTimeout(this.watchdog);
      const left = this.lastRenew + this.renewDeadlineMs - this.clock.now().getTime();
      this.watchdog = setTimeout(
        () => lose(`no renewal within the renew deadline of ${this.renewDeadlineMs} ms`),
        Math.max(0, left),
      );
    };
    const tick = async () => {
      if (this.stopped) return;
      const started = this.clock.now().getTime();
      // A leader's attempt may last until its deadline; a follower's at most one retry period.
      const budget = this.leading ? this.lastRenew + this.renewDeadlineMs - started : this.retryPeriodMs;
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew(timeoutOption(Math.max(1, budget)));
      } catch (e) {
        log.warn('lease update failed', { lease: this.o.name, error: describeError(e) });
      }
      if (this.stopped) return;
      if (ok) {
        this.lastRenew = started;
        if (!this.leading) {
          this.leading = true;
          log.info('became leader', { lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity });
          armWatchdog();
          onStart();
        } else armWatchdog();
      } else if (this.leading && this.clock.now().getTime() >= this.lastRenew + this.renewDeadlineMs) {
        lose('renew deadline passed');
        return;
      }
      // client-go adds up to 20% jitter, so that replicas do not retry in lockstep.
      const wait = this.retryPeriodMs * (this.leading ? 1 : 1 + Math.random() * 0.2);
      this.timer = setTimeout(() => void tick(), wait);
    };
    void tick();
  }

  /** One attempt; true when this replica holds the lease afterwards. */
  async tryAcquireOrRenew(options?: RequestOptions): Promise<boolean> {
    const now = this.clock.now();
    const { namespace, name, identity } = this.o;
    const spec = (lease?: Lease) => ({
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      renewTime: microTime(now),
      acquireTime:
        lease?.spec?.holderIdentity === identity && lease.spec.acquireTime ? lease.spec.acquireTime : microTime(now),
      leaseTransitions:
        (lease?.spec?.leaseTransitions ?? 0) + (lease?.spec?.holderIdentity === identity ? 0 : lease ? 1 : 0),
    });
    let lease: Lease;
    try {
      lease = (await this.c.custom.getNamespacedCustomObject({ ...LEASES, namespace, name }, options)) as Lease;
    } catch (e) {
      if (!isNotFound(e)) throw e;
      try {
        const body: Lease = {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: spec(),
        };
        await this.c.custom.createNamespacedCustomObject({ ...LEASES, namespace, body }, options);
        return true;
      } catch (e2) {
        if (isConflict(e2)) return false;
        throw e2;
      }
    }
    // Expiry as client-go judges it: by when this replica last saw the record change, on its own clock.
    const record = JSON.stringify(lease.spec ?? {});
    const seenAt = this.clock.now().getTime();
    if (this.observed?.record !== record) this.observed = { record, at: seenAt };
    const holder = lease.spec?.holderIdentity;
    const durationMs = (lease.spec?.leaseDurationSeconds ?? Math.ceil(this.leaseDurationMs / 1000)) * 1000;
    const expired = this.observed.at + durationMs <= seenAt;
    if (holder && holder !== identity && !expired) return false;
    try {
      await this.c.custom.replaceNamespacedCustomObject(
        { ...LEASES, namespace, name, body: { ...lease, spec: spec(lease) } },
        options,
      );
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
  }

  /** Stops renewing and hands the lease back so another replica takes over at once. */
  async release(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.watchdog) clearTimeout(this.watchdog);
    if (!this.leading) return;
    this.leading = false;
    try {
      const ref = { ...LEASES, namespace: this.o.namespace, name: this.o.name };
      const lease = (await this.c.custom.getNamespacedCustomObject(ref, timeoutOption(this.retryPeriodMs))) as Lease;
      if (lease.spec?.holderIdentity === this.o.identity)
        await this.c.custom.replaceNamespacedCustomObject(
          { ...ref, body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 } } },
          timeoutOption(this.retryPeriodMs),
        );
    } catch (e) {
      log.warn('could not release the lease', { error: describeError(e) });
    }
  }
}
