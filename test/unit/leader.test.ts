import { expect } from 'chai';
import { eventName } from '../../controller/reconcile/events.js';
import { checkLeaderTimings, LEADER_DEFAULTS } from '../../controller/kube/leader.js';

describe('leader election timings', () => {
  it("takes client-go's defaults and refuses timings that could let two replicas lead", () => {
    expect(LEADER_DEFAULTS).to.deep.equal({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
    expect(() => checkLeaderTimings(LEADER_DEFAULTS)).to.not.throw();
    expect(() => checkLeaderTimings({ ...LEADER_DEFAULTS, renewDeadlineMs: 15_000 })).to.throw(
      /--lease-duration must be greater than --renew-deadline/,
    );
    expect(() => checkLeaderTimings({ ...LEADER_DEFAULTS, retryPeriodMs: 9_000 })).to.throw(
      /--renew-deadline must be greater than 1.2 x --retry-period/,
    );
  });
});

describe('aggregated Event names', () => {
  const target = {
    apiVersion: 'containerscanner.io/v1alpha1',
    kind: 'ContainerScan',
    name: 'daily',
    namespace: 'scans',
    uid: 'u1',
  };
  it('are the same for the same thing said about the same object, and differ otherwise', () => {
    const a = eventName(target, 'Warning', 'NodeFailed', 'node w1: x');
    expect(a).to.match(/^daily\.[0-9a-f]{16}$/);
    expect(eventName(target, 'Warning', 'NodeFailed', 'node w1: x')).to.equal(a);
    expect(eventName(target, 'Warning', 'NodeFailed', 'node w2: x')).to.not.equal(a);
    expect(eventName({ ...target, uid: 'u2' }, 'Warning', 'NodeFailed', 'node w1: x')).to.not.equal(a);
    expect(eventName({ ...target, name: 'x'.repeat(253) }, 'Normal', 'R', 'm').length).to.be.at.most(253);
  });
});
