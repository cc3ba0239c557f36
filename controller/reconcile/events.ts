/**
 * Events, aggregated the way kubectl shows them: the same reason and message about the same object is one Event
 * whose count and lastTimestamp grow, not a new object each time. The Event's name is derived from what it says,
 * so the decision "new or repeat" is made from the API (create, or bump the existing one), not from memory, and
 * survives restarts and leader changes.
 */
import { createHash } from 'node:crypto';
import type { CoreV1Event } from '@kubernetes/client-node';
import { describeError, isConflict, isNotFound, type Clients } from '../kube/clients.js';
import { log } from '../util/log.js';
import type { Clock } from './runstate.js';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid: string;
}

export const MAX_EVENT_MESSAGE = 1024;
const COMPONENT = 'containerscan-controller';

export function eventName(target: EventTarget, type: string, reason: string, message: string): string {
  const digest = createHash('sha256')
    .update([target.uid, type, reason, message].join('\u0000'))
    .digest('hex')
    .slice(0, 16);
  // An Event name is a DNS subdomain (253); object names are at most 253 too, so the name is cut, not the digest.
  return `${target.name.slice(0, 253 - 17)}.${digest}`;
}

export class EventRecorder {
  constructor(
    private readonly c: Clients,
    private readonly clock: Clock,
    private readonly instance = COMPONENT,
  ) {}

  /** Records (or counts once more) an Event; never throws: an Event is for people and must not fail a run. */
  async record(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const msg = message.length > MAX_EVENT_MESSAGE ? `${message.slice(0, MAX_EVENT_MESSAGE - 1)}…` : message;
    const namespace = target.namespace;
    const name = eventName(target, type, reason, msg);
    const now = this.clock.now();
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        let existing: CoreV1Event | undefined;
        try {
          existing = await this.c.core.readNamespacedEvent({ namespace, name });
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
        try {
          if (!existing) {
            await this.c.core.createNamespacedEvent({
              namespace,
              body: {
                metadata: { name, namespace },
                involvedObject: {
                  apiVersion: target.apiVersion,
                  kind: target.kind,
                  name: target.name,
                  namespace,
                  uid: target.uid,
                },
                reason,
                message: msg,
                type,
                count: 1,
                firstTimestamp: now,
                lastTimestamp: now,
                source: { component: COMPONENT },
                reportingComponent: 'containerscanner.io/controller',
                reportingInstance: this.instance,
              },
            });
          } else {
            await this.c.core.replaceNamespacedEvent({
              namespace,
              name,
              body: { ...existing, count: (existing.count ?? 1) + 1, lastTimestamp: now },
            });
          }
          return;
        } catch (e) {
          // Another replica or reconcile wrote it in between: read again and count on top of that.
          if (!isConflict(e)) throw e;
        }
      }
    } catch (e) {
      log.warn('could not record event', { reason, error: describeError(e) });
    }
  }
}
