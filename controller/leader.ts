import { describeError, isConflict, isNotFound, type Clients } from './kube.js';
import { log } from './log.js';
import { systemClock, type Clock } from './runstate.js';

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewEveryMs?: number;
  clock?: Clock;
}

/** A Lease as plain JSON: its times are MicroTime (6 fractional digits), which client-node's typed Date cannot write. */
interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

const LEASES = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' };

/**
 * Leader election on a coordination.k8s.io Lease, so that only one replica reconciles. A replica takes the lease
 * when it is free or expired, renews it, and stops leading as soon as a renewal fails past the lease duration.
 */
export class LeaderElector {
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private lastRenew = 0;
  private readonly durationMs: number;
  private readonly renewMs: number;
  private readonly clock: Clock;

  constructor(
    private readonly c: Clients,
    private readonly o: LeaderOptions,
  ) {
    this.durationMs = o.leaseDurationMs ?? 15_000;
    this.renewMs = o.renewEveryMs ?? 5_000;
    this.clock = o.clock ?? systemClock;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Calls onStart when leadership is gained and onStop when it is lost (the caller then exits). */
  start(onStart: () => void, onStop: () => void): void {
    const tick = async () => {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (e) {
        log.warn('lease update failed', { lease: this.o.name, error: describeError(e) });
      }
      const now = this.clock.now().getTime();
      if (ok) this.lastRenew = now;
      if (ok && !this.leading) {
        this.leading = true;
        log.info('became leader', { lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity });
        onStart();
      } else if (!ok && this.leading && now - this.lastRenew >= (this.durationMs * 2) / 3) {
        // Step down well before the lease expires for the others (client-go's renew deadline), so two replicas
        // never lead at once.
        this.leading = false;
        log.error('lost leadership', { lease: `${this.o.namespace}/${this.o.name}` });
        onStop();
      }
      this.timer = setTimeout(() => void tick(), this.renewMs);
    };
    void tick();
  }

  /** One attempt; true when this replica holds the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    const { namespace, name, identity } = this.o;
    const spec = (lease?: Lease) => ({
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.durationMs / 1000),
      renewTime: microTime(now),
      acquireTime: lease?.spec?.holderIdentity === identity && lease.spec.acquireTime ? lease.spec.acquireTime : microTime(now),
      leaseTransitions: (lease?.spec?.leaseTransitions ?? 0) + (lease?.spec?.holderIdentity === identity ? 0 : lease ? 1 : 0),
    });
    let lease: Lease;
    try {
      lease = (await this.c.custom.getNamespacedCustomObject({ ...LEASES, namespace, name })) as Lease;
    } catch (e) {
      if (!isNotFound(e)) throw e;
      try {
        const body: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: spec() };
        await this.c.custom.createNamespacedCustomObject({ ...LEASES, namespace, body });
        return true;
      } catch (e2) {
        if (isConflict(e2)) return false;
        throw e2;
      }
    }
    const holder = lease.spec?.holderIdentity;
    const renewed = lease.spec?.renewTime ? Date.parse(lease.spec.renewTime) : 0;
    const expired = renewed + (lease.spec?.leaseDurationSeconds ?? 15) * 1000 < now.getTime();
    if (holder && holder !== identity && !expired) return false;
    try {
      await this.c.custom.replaceNamespacedCustomObject({ ...LEASES, namespace, name, body: { ...lease, spec: spec(lease) } });
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
  }

  /** Stops renewing and hands the lease back so another replica takes over at once. */
  async release(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const ref = { ...LEASES, namespace: this.o.namespace, name: this.o.name };
      const lease = (await this.c.custom.getNamespacedCustomObject(ref)) as Lease;
      if (lease.spec?.holderIdentity === this.o.identity)
        await this.c.custom.replaceNamespacedCustomObject({ ...ref, body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 } } });
    } catch (e) {
      log.warn('could not release the lease', { error: describeError(e) });
    }
  }
}
