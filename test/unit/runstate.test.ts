import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { ContainerScan } from '../../controller/api/resources.js';
import {
  checkSpec,
  pointerRefused,
  recordPublication,
  runDue,
  startRun,
  step,
  type Observed,
  type Timeouts,
} from '../../controller/reconcile/runstate.js';

/** A clock the test moves by hand. */
class TestClock {
  constructor(private t: number) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): Date {
    this.t += ms;
    return this.now();
  }
}

const T0 = Date.parse('2026-11-23T10:00:00Z');
const TIMEOUTS: Timeouts = { readinessMs: 120_000, scanMs: 300_000, teardownMs: 60_000 };

function scan(spec: ContainerScan['spec'] = {}, generation = 1): ContainerScan {
  return {
    apiVersion: 'containerscanner.io/v1alpha1',
    kind: 'ContainerScan',
    metadata: { name: 'daily', namespace: 'scans', uid: 'u1', generation },
    spec,
  };
}
function observed(o: Partial<Observed> = {}): Observed {
  return { reports: new Map(), readyNodes: new Set(), runObjectsGone: false, ...o };
}
function running(nodes: string[], clock: TestClock, spec: ContainerScan['spec'] = {}): ContainerScan {
  const s = scan(spec);
  s.status = startRun(s, nodes, clock.now());
  // The UIDs of the ScanResults the reconciler made (recorded before any pod runs).
  for (const n of s.status.nodes!) n.scanResultUID = `uid-${n.name}`;
  return s;
}
const types = (d: { actions: { type: string }[] }) => d.actions.map((a) => a.type);
/** Node w1 reports; the run goes to its teardown and its result is published as the reconciler records it. */
function reportedAndPublished(s: ContainerScan, clock: TestClock): ContainerScan {
  const d = step(s, observed({ reports: new Map([['w1', { phase: 'Reported' }]]) }), clock.advance(1000), TIMEOUTS);
  expect(types(d)).to.include('publish');
  const run = d.status.run!;
  recordPublication(
    d.status,
    { kind: 'published', result: { run, configMap: `${run}-result`, shards: 1, containers: 0 }, omittedErrors: [] },
    clock.now(),
    1,
  );
  return { ...s, status: d.status };
}

describe('run state machine', () => {
  it('starts a first run with every targeted node pending', () => {
    const clock = new TestClock(T0);
    const s = scan();
    expect(runDue(s, clock.now())).to.equal('first run');
    const st = startRun(s, ['w2', 'w1'], clock.now());
    expect(st).to.include({ phase: 'Running', run: 'daily-1', runNumber: 1, nodesDesired: 2, observedGeneration: 1 });
    expect(st.nodes).to.deep.equal([
      { name: 'w1', phase: 'Pending' },
      { name: 'w2', phase: 'Pending' },
    ]);
  });

  it('waits while nodes are pending and asks to look again at the readiness deadline', () => {
    const clock = new TestClock(T0);
    const s = running(['w1'], clock);
    const d = step(s, observed(), clock.advance(30_000), TIMEOUTS);
    expect(d.status.phase).to.equal('Running');
    expect(types(d)).to.deep.equal(['ensureRunObjects']);
    expect(d.requeueAfterMs).to.equal(90_000);
  });

  it('fails a node whose scanner pod is not ready by the readiness timeout, and publishes the others', () => {
    const clock = new TestClock(T0);
    let s = running(['w1', 'w2'], clock);
    const reports: Observed['reports'] = new Map([
      ['w1', { phase: 'Reported', containersScanned: 4, containersDetected: 3 }],
    ]);
    let d = step(s, observed({ reports }), clock.advance(119_999), TIMEOUTS);
    expect(d.status.phase).to.equal('Running');
    expect(d.status.nodes?.map((n) => n.phase)).to.deep.equal(['Reported', 'Pending']);
    s = { ...s, status: d.status };
    d = step(s, observed({ reports }), clock.advance(1), TIMEOUTS);
    expect(d.status.phase).to.equal('TearingDown');
    expect(d.status.nodes?.[1]).to.deep.include({ phase: 'Failed', reason: 'NodeNotReady' });
    expect(d.status).to.include({ nodesReported: 1, nodesFailed: 1, containersScanned: 4, containersDetected: 3 });
    expect(d.status.errors).to.deep.equal(['node w2: scanner pod not ready within 2m0s']);
    expect(d.status.failureCounts).to.deep.equal([{ reason: 'NodeNotReady', count: 1 }]);
    expect(types(d)).to.deep.equal(['failScanResult', 'event', 'publish', 'deleteRunObjects']);
    expect(d.actions[0]).to.deep.equal({
      type: 'failScanResult',
      node: 'w2',
      uid: 'uid-w2',
      error: 'scanner pod not ready within 2m0s',
    });
    expect(d.actions[1]).to.deep.include({
      kind: 'Warning',
      reason: 'NodeNotReady',
      message: 'node w2: scanner pod not ready within 2m0s',
    });
  });

  it('says why a pod was not ready when the pods tell', () => {
    const clock = new TestClock(T0);
    const s = running(['w1'], clock);
    const d = step(
      s,
      observed({ podProblems: new Map([['w1', 'scanner exited with code 2: not privileged']]) }),
      clock.advance(120_000),
      TIMEOUTS,
    );
    expect(d.status.errors).to.deep.equal([
      'node w1: scanner pod not ready within 2m0s: scanner exited with code 2: not privileged',
    ]);
  });

  it('gives a ready node until the scan timeout to report', () => {
    const clock = new TestClock(T0);
    let s = running(['w1'], clock);
    let d = step(s, observed({ readyNodes: new Set(['w1']) }), clock.advance(200_000), TIMEOUTS);
    expect(d.status.nodes?.[0]?.phase).to.equal('Ready');
    expect(d.requeueAfterMs).to.equal(100_000);
    s = { ...s, status: d.status };
    d = step(s, observed(), clock.advance(99_999), TIMEOUTS);
    expect(d.status.phase).to.equal('Running');
    s = { ...s, status: d.status };
    d = step(s, observed(), clock.advance(1), TIMEOUTS);
    expect(d.status.phase).to.equal('TearingDown');
    expect(d.status.errors).to.deep.equal(['node w1: no report within the scan timeout of 5m0s']);
  });

  it('records a node whose reporter rejected the scan output', () => {
    const clock = new TestClock(T0);
    const s = running(['w1'], clock);
    const reports: Observed['reports'] = new Map([['w1', { phase: 'Failed', error: 'scan.json is not valid JSON' }]]);
    const d = step(s, observed({ reports }), clock.advance(5_000), TIMEOUTS);
    expect(d.status.phase).to.equal('TearingDown');
    expect(d.status.errors).to.deep.equal(['node w1: scan.json is not valid JSON']);
  });

  it('publishes nothing and ends Failed, not Completed, when no node is targeted', () => {
    const clock = new TestClock(T0);
    const s = running([], clock);
    const d = step(s, observed(), clock.now(), TIMEOUTS);
    expect(d.status.phase).to.equal('TearingDown');
    expect(types(d)).to.not.include('publish');
    expect(d.status.errors?.[0]).to.match(/no node matches/);
    const end = step({ ...s, status: d.status }, observed({ runObjectsGone: true }), clock.advance(1000), TIMEOUTS);
    expect(end.status.phase).to.equal('Failed');
    expect(end.status.conditions?.find((c) => c.type === 'Complete')).to.include({
      status: 'False',
      reason: 'NoNodeReported',
    });
    expect(end.actions.find((a) => a.type === 'event')).to.deep.include({ reason: 'RunFailed' });
  });

  it('ends Failed when every node failed, and publishes nothing', () => {
    const clock = new TestClock(T0);
    const s = running(['w1', 'w2'], clock);
    const reports: Observed['reports'] = new Map([['w1', { phase: 'Failed', error: 'scan.json missing' }]]);
    const d = step(s, observed({ reports }), clock.advance(120_000), TIMEOUTS);
    expect(d.status).to.include({ phase: 'TearingDown', nodesReported: 0, nodesFailed: 2 });
    expect(types(d)).to.not.include('publish');
    // The reporter's own verdict is in its ScanResult already; the controller writes only its own verdicts there.
    expect(d.actions.filter((a) => a.type === 'failScanResult')).to.deep.equal([
      { type: 'failScanResult', node: 'w2', uid: 'uid-w2', error: 'scanner pod not ready within 2m0s' },
    ]);
    // Nothing of a failed node is merged: its UID goes.
    expect(d.status.nodes).to.deep.equal([
      { name: 'w1', phase: 'Failed', reason: 'NodeFailed' },
      { name: 'w2', phase: 'Failed', reason: 'NodeNotReady' },
    ]);
    const end = step({ ...s, status: d.status }, observed({ runObjectsGone: true }), clock.advance(1000), TIMEOUTS);
    expect(end.status.phase).to.equal('Failed');
  });

  it('does not start any run while suspended, not even the first, and says so', () => {
    const clock = new TestClock(T0);
    const s = scan({ suspend: true, schedule: '0 */12 * * *' });
    expect(runDue(s, clock.now())).to.equal(undefined);
    const d = step(s, observed({ runObjectsGone: true }), clock.now(), TIMEOUTS);
    expect(d.status.phase).to.equal('Pending');
    expect(d.status.nextRunTime).to.equal(undefined);
    expect(d.status.conditions?.find((c) => c.type === 'Scanning')).to.include({
      status: 'False',
      reason: 'Suspended',
    });
    const resumed = { ...s, spec: { ...s.spec, suspend: false }, status: d.status };
    expect(runDue(resumed, clock.now())).to.equal('first run');
    // A spec change while suspended waits too.
    const ran = running(['w1'], clock);
    const done = {
      ...ran,
      status: { ...ran.status, phase: 'Completed' as const },
      spec: { scanTimeout: '9m', suspend: true },
      metadata: { ...ran.metadata, generation: 2 },
    };
    expect(runDue(done, clock.now())).to.equal(undefined);
    expect(runDue({ ...done, spec: { scanTimeout: '9m' } }, clock.now())).to.equal('spec changed');
  });

  it('counts a node whose report the controller refused as failed, with the reason', () => {
    const clock = new TestClock(T0);
    const s = running(['w1'], clock);
    const reports: Observed['reports'] = new Map([
      [
        'w1',
        {
          phase: 'Failed',
          reason: 'ReportRejected',
          error: 'ScanResult daily-1-w1 refused by the controller: scan.json: "../.." in x is not a pod name',
        },
      ],
    ]);
    const d = step(s, observed({ reports }), clock.advance(1000), TIMEOUTS);
    expect(d.status.nodes?.[0]).to.deep.include({ phase: 'Failed', reason: 'ReportRejected' });
    expect(d.status.failureCounts).to.deep.equal([{ reason: 'ReportRejected', count: 1 }]);
    expect(types(d)).to.include('failScanResult');
  });

  it('says at once when the scanner pods cannot be created, with the fix', () => {
    const clock = new TestClock(T0);
    const s = running(['w1'], clock);
    const problem =
      'Pod Security admission rejects the scanner pods (...). ... kubectl label namespace scans ' +
      'pod-security.kubernetes.io/enforce=privileged --overwrite';
    const d = step(s, observed({ podCreateProblem: problem }), clock.advance(1000), TIMEOUTS);
    expect(d.status.phase).to.equal('Running');
    expect(d.status.conditions?.find((c) => c.type === 'Degraded')).to.include({
      status: 'True',
      reason: 'ScannerPodsRejected',
      message: problem,
    });
    expect(d.actions).to.deep.include({
      type: 'event',
      kind: 'Warning',
      reason: 'ScannerPodsRejected',
      message: problem,
    });
  });

  it('completes when the DaemonSet is gone before the teardown timeout', () => {
    const clock = new TestClock(T0);
    let s = running(['w1'], clock);
    s = reportedAndPublished(s, clock);
    let d = step(s, observed(), clock.advance(10_000), TIMEOUTS);
    expect(d.status.phase).to.equal('TearingDown');
    expect(types(d)).to.deep.equal(['deleteRunObjects']);
    expect(d.requeueAfterMs).to.equal(50_000);
    d = step(s, observed({ runObjectsGone: true }), clock.advance(1000), TIMEOUTS);
    expect(d.status.phase).to.equal('Completed');
    expect(d.status.completionTime).to.equal(clock.now().toISOString());
    expect(d.status.conditions?.find((c) => c.type === 'Degraded')?.status).to.equal('False');
    expect(types(d)).to.deep.equal(['publishLatest', 'pruneHistory', 'event']);
  });

  it('prunes by force and records the error past the teardown timeout', () => {
    const clock = new TestClock(T0);
    let s = running(['w1'], clock);
    s = reportedAndPublished(s, clock);
    let d = step(s, observed(), clock.advance(59_999), TIMEOUTS);
    expect(d.status.phase).to.equal('TearingDown');
    d = step(s, observed(), clock.advance(1), TIMEOUTS);
    expect(d.status.phase).to.equal('Completed');
    expect(types(d)).to.include('forcePrune');
    expect(d.status.errors?.at(-1)).to.match(/not deleted within the teardown timeout of 1m0s/);
    const degraded = d.status.conditions?.find((c) => c.type === 'Degraded');
    expect(degraded).to.include({ status: 'True', reason: 'RunErrors' });
  });

  it('completes a run published without the pods too large to publish, and names them', () => {
    const clock = new TestClock(T0);
    const s = running(['w1', 'w2'], clock);
    const reports: Observed['reports'] = new Map([
      ['w1', { phase: 'Reported', containersScanned: 3 }],
      ['w2', { phase: 'Reported', containersScanned: 4 }],
    ]);
    const d = step(s, observed({ reports }), clock.advance(1000), TIMEOUTS);
    expect(types(d)).to.deep.equal(['publish', 'deleteRunObjects']);
    const lines = Array.from({ length: 12 }, (_, i) => `pod shop/p${i} left out of the published result: ...`);
    const names = lines.slice(0, 10).map((_, i) => `shop/p${i}`);
    const result = { run: 'daily-1', configMap: 'daily-1-result', shards: 1, containers: 5 };
    const events = recordPublication(
      d.status,
      { kind: 'published', result: { ...result, omittedPods: 12, omittedPodNames: names }, omittedErrors: lines },
      clock.now(),
      1,
    );
    expect(events.map((e) => [e.kind, e.reason])).to.deep.equal([
      ['Warning', 'Published'],
      ['Warning', 'PodsOmitted'],
    ]);
    expect(events[0]!.message).to.equal(
      'run daily-1: 5 container(s) from 2/2 node(s) published; 12 pod(s) left out, too large to publish',
    );
    expect(events[1]!.message).to.equal(
      `run daily-1: 12 pod(s) left out of the published result: ${lines.slice(0, 10).join('; ')}; and 2 more`,
    );
    expect(d.status.errors).to.deep.equal(lines);
    const end = step({ ...s, status: d.status }, observed({ runObjectsGone: true }), clock.advance(1000), TIMEOUTS);
    expect(end.status.phase).to.equal('Completed');
    expect(end.status.result).to.deep.include({ omittedPods: 12, omittedPodNames: names });
    const cond = Object.fromEntries(end.status.conditions!.map((c) => [c.type, c]));
    expect(cond.Complete).to.include({
      status: 'True',
      reason: 'PartiallyPublished',
      message: `run daily-1 published daily-1-result without 12 pod(s) too large to publish: ${names.join(', ')} and 2 more`,
    });
    expect(cond.Degraded).to.include({ status: 'True', reason: 'RunErrors' });
    expect(types(end)).to.deep.equal(['publishLatest', 'pruneHistory', 'event']);
  });

  it('ends Failed when the API server refused the result, keeping the last published one', () => {
    const clock = new TestClock(T0);
    const s = running(['w1'], clock);
    const previous = { run: 'daily-0', configMap: 'daily-0-result', shards: 1, containers: 9 };
    s.status!.result = previous;
    const d = step(s, observed({ reports: new Map([['w1', { phase: 'Reported' }]]) }), clock.advance(1000), TIMEOUTS);
    const refusal = 'the API server refused ConfigMap daily-1-result-0: HTTP 403: exceeded quota';
    const events = recordPublication(d.status, { kind: 'failed', error: refusal, omittedErrors: [] }, clock.now(), 1);
    expect(events).to.deep.equal([
      {
        type: 'event',
        kind: 'Warning',
        reason: 'PublishFailed',
        message: `run daily-1: result not published: ${refusal}; the last published result (run daily-0) stays`,
      },
    ]);
    // Said at once, during the teardown.
    const failed = {
      status: 'False',
      reason: 'PublicationFailed',
      message: `run daily-1: result not published: ${refusal}`,
    };
    expect(d.status.conditions!.find((c) => c.type === 'Complete')).to.include(failed);
    expect(d.status.result).to.deep.equal(previous);
    const end = step({ ...s, status: d.status }, observed({ runObjectsGone: true }), clock.advance(1000), TIMEOUTS);
    expect(end.status.phase).to.equal('Failed');
    expect(end.status.result).to.deep.equal(previous);
    expect(end.status.errors).to.deep.equal([`result not published: ${refusal}`]);
    expect(end.status.conditions!.find((c) => c.type === 'Complete')).to.include(failed);
    expect(end.status.conditions!.find((c) => c.type === 'Degraded')).to.include({
      status: 'True',
      reason: 'RunErrors',
    });
    // The pointer stays where it is; history is trimmed (the reconciler spares the result it points at).
    expect(types(end)).to.deep.equal(['pruneHistory', 'event']);
    expect(end.actions.at(-1)).to.deep.include({
      reason: 'RunFailed',
      message: 'run daily-1 failed after 2s: its result could not be published',
    });
  });

  it('ends Failed when the pointer to the result was refused, and points status.result where the pointer does', () => {
    const clock = new TestClock(T0);
    const s = reportedAndPublished(running(['w1'], clock), clock);
    const end = step(s, observed({ runObjectsGone: true }), clock.advance(1000), TIMEOUTS);
    expect(end.status.phase).to.equal('Completed');
    const previous = { run: 'daily-0', configMap: 'daily-0-result', shards: 2, containers: 9 };
    const events = pointerRefused(end.status, 'daily-latest', 'HTTP 403: denied by policy', previous, clock.now(), 1);
    expect(end.status.phase).to.equal('Failed');
    expect(end.status.result).to.deep.equal(previous);
    const msg =
      'result not published: daily-1-result was written, but the API server refused the pointer daily-latest: ' +
      'HTTP 403: denied by policy';
    expect(end.status.errors).to.deep.equal([msg]);
    expect(end.status.conditions!.find((c) => c.type === 'Complete')).to.include({
      status: 'False',
      reason: 'PublicationFailed',
      message: `run daily-1: ${msg}`,
    });
    expect(events.map((e) => e.reason)).to.deep.equal(['PublishFailed', 'RunFailed']);
    expect(events[0]!.message).to.equal(`run daily-1: ${msg}; readers still get run daily-0`);
  });

  it('schedules the next run from the cron expression and starts it when due', () => {
    const clock = new TestClock(T0);
    let s = running(['w1'], clock, { schedule: '0 */12 * * *' });
    s = reportedAndPublished(s, clock);
    const d = step(s, observed({ runObjectsGone: true }), clock.advance(1000), TIMEOUTS);
    expect(d.status.nextRunTime).to.equal('2026-11-23T12:00:00.000Z');
    expect(d.requeueAfterMs).to.equal(Date.parse('2026-11-23T12:00:00Z') - clock.now().getTime());
    s = { ...s, status: d.status };
    expect(runDue(s, new Date('2026-11-23T11:59:59Z'))).to.equal(undefined);
    expect(runDue(s, new Date('2026-11-23T12:00:00Z'))).to.equal('schedule');
    expect(runDue({ ...s, spec: { ...s.spec, suspend: true } }, new Date('2026-11-23T13:00:00Z'))).to.equal(undefined);
    const next = startRun(s, ['w1'], new Date('2026-11-23T12:00:00Z'));
    expect(next).to.include({ run: 'daily-2', runNumber: 2, phase: 'Running' });
    expect(next.nextRunTime).to.equal(undefined);
  });

  it('runs again when the spec changes, but never during a run', () => {
    const clock = new TestClock(T0);
    const s = running(['w1'], clock);
    const changed = { ...s.spec, scanTimeout: '9m' };
    expect(runDue({ ...s, spec: changed, metadata: { ...s.metadata, generation: 2 } }, clock.now())).to.equal(
      undefined,
    );
    const done = { ...s, status: { ...s.status, phase: 'Completed' as const } };
    expect(runDue(done, clock.now())).to.equal(undefined);
    expect(runDue({ ...done, spec: changed, metadata: { ...done.metadata, generation: 2 } }, clock.now())).to.equal(
      'spec changed',
    );
  });

  it('does not run for a change of schedule, suspension or history only, but reschedules', () => {
    const clock = new TestClock(T0);
    let s = running(['w1'], clock, { schedule: '0 */12 * * *' });
    s = reportedAndPublished(s, clock);
    s = { ...s, status: step(s, observed({ runObjectsGone: true }), clock.advance(1000), TIMEOUTS).status };
    expect(s.status!.nextRunTime).to.equal('2026-11-23T12:00:00.000Z');
    const edited: ContainerScan = {
      ...s,
      spec: { schedule: '30 10 * * *', historyLimit: 9 },
      metadata: { ...s.metadata, generation: 2 },
    };
    expect(runDue(edited, clock.now())).to.equal(undefined);
    const d = step(edited, observed({ runObjectsGone: true }), clock.now(), TIMEOUTS);
    expect(d.status.observedGeneration).to.equal(2);
    expect(d.status.nextRunTime).to.equal('2026-11-23T10:30:00.000Z');
    const suspended: ContainerScan = {
      ...edited,
      spec: { ...edited.spec, suspend: true },
      metadata: { ...s.metadata, generation: 3 },
      status: d.status,
    };
    expect(step(suspended, observed({ runObjectsGone: true }), clock.now(), TIMEOUTS).status.nextRunTime).to.equal(
      undefined,
    );
  });

  it('rejects a bad spec with a clear message', () => {
    expect(checkSpec(scan({ scanTimeout: 'soon' }))).to.deep.equal({
      error: 'spec: invalid duration "soon" (expected e.g. 90s, 2m, 1h30m)',
    });
    expect(checkSpec(scan({ schedule: 'every day' })))
      .to.have.property('error')
      .that.match(/not a valid cron expression/);
    // cron-parser would read a sixth field as seconds: the contract is 5 fields.
    expect(checkSpec(scan({ schedule: '*/5 * * * * *' })))
      .to.have.property('error')
      .that.match(/has 6 fields; exactly 5 are expected/);
    expect(checkSpec(scan({ schedule: '61 * * * *' })))
      .to.have.property('error')
      .that.match(/not a valid cron expression/);
    expect(checkSpec(scan({ schedule: ' */5  * * * * ' }))).to.have.property('timeouts');
    const long = scan();
    long.metadata.name = 'x'.repeat(41);
    expect(checkSpec(long))
      .to.have.property('error')
      .that.match(/at most 40/);
    expect(checkSpec(scan({ readinessTimeout: '90s', scanTimeout: '1h30m' }))).to.deep.equal({
      timeouts: { readinessMs: 90_000, scanMs: 5_400_000, teardownMs: 60_000 },
    });
  });
});

describe('scanner pod diagnosis', () => {
  it('names the node of bound and unbound DaemonSet pods and says what is wrong', async () => {
    const { nodeOf, podProblem } = await import('../../controller/reconcile/reconciler.js');
    const unbound = {
      spec: {
        containers: [],
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['w7'] }] }],
            },
          },
        },
      },
      status: {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/3 nodes are available: insufficient memory.',
          },
        ],
      },
    };
    expect(nodeOf(unbound)).to.equal('w7');
    expect(podProblem(unbound)).to.equal('scanner pod not scheduled: 0/3 nodes are available: insufficient memory.');
    const crashed = {
      spec: { nodeName: 'w8', containers: [] },
      status: {
        phase: 'Pending',
        initContainerStatuses: [
          {
            name: 'scanner',
            image: 'i',
            imageID: '',
            ready: false,
            restartCount: 3,
            lastState: {
              terminated: { exitCode: 2, reason: 'Error', message: 'scan-containers: needs CAP_SYS_ADMIN\n' },
            },
            state: { waiting: { reason: 'CrashLoopBackOff' } },
          },
        ],
      },
    };
    expect(nodeOf(crashed)).to.equal('w8');
    expect(podProblem(crashed)).to.equal('scanner exited with code 2 (Error): scan-containers: needs CAP_SYS_ADMIN');
    const pulling = {
      spec: { nodeName: 'w9', containers: [] },
      status: {
        initContainerStatuses: [
          {
            name: 'scanner',
            image: 'i',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "x"' } },
          },
        ],
      },
    };
    expect(podProblem(pulling)).to.equal('scanner waiting: ImagePullBackOff: Back-off pulling image "x"');
  });
});

describe('status error cap', () => {
  it('keeps the status small and says how many were left out', async () => {
    const { capErrors, MAX_STATUS_ERRORS } = await import('../../controller/reconcile/runstate.js');
    const many = Array.from({ length: 500 }, (_, i) => `node n${i}: failed`);
    const capped = capErrors(many)!;
    expect(capped).to.have.length(MAX_STATUS_ERRORS);
    expect(capped.at(-1)).to.equal(
      `… and ${500 - MAX_STATUS_ERRORS + 1} more errors (failed nodes by reason in status.failureCounts; details in ` +
        `their ScanResults and the Events)`,
    );
    expect(capErrors(capped)).to.deep.equal(capped);
    const more = capErrors([...capped, 'teardown failed'])!;
    expect(more).to.have.length(MAX_STATUS_ERRORS);
    expect(more.at(-1)).to.equal(
      `… and ${500 - MAX_STATUS_ERRORS + 2} more errors (failed nodes by reason in status.failureCounts; details in ` +
        `their ScanResults and the Events)`,
    );
    expect(capErrors(['one'])).to.deep.equal(['one']);
  });
});

describe('status size at scale', () => {
  it('keeps the status of 5000 failing nodes well under 1 MiB (capped errors, counts by reason)', () => {
    const clock = new TestClock(T0);
    // Names as cloud providers make them; a long, real-looking reason for every node.
    const names = Array.from(
      { length: 5000 },
      (_, i) => `ip-10-${(i >> 16) & 255}-${(i >> 8) & 255}-${i & 255}.eu-west-1.compute.internal`,
    );
    const s = running(names, clock);
    for (const n of s.status!.nodes!) n.scanResultUID = randomUUID();
    expect(Buffer.byteLength(JSON.stringify(s.status))).to.be.below(1024 * 1024);
    const why =
      'scanner waiting: ImagePullBackOff: Back-off pulling image ' +
      '"registry.example.com/container-scanner/scanner:v1.2.3": rpc error: code = Unknown desc = failed to pull ' +
      'and unpack image';
    const podProblems = new Map(names.map((n) => [n, why]));
    const d = step(s, observed({ podProblems }), clock.advance(120_000), TIMEOUTS);
    const end = step({ ...s, status: d.status }, observed({ runObjectsGone: true }), clock.advance(1000), TIMEOUTS);
    const bytes = Buffer.byteLength(JSON.stringify(end.status));
    expect(bytes).to.be.below(512 * 1024);
    expect(end.status).to.include({ phase: 'Failed', nodesDesired: 5000, nodesFailed: 5000 });
    expect(end.status.errors).to.have.length(20);
    expect(end.status.errors!.at(-1)).to.match(/^… and 4981 more errors/);
    expect(end.status.failureCounts).to.deep.equal([{ reason: 'NodeNotReady', count: 5000 }]);
    // One Event for the 5000 nodes, not 5000 Events.
    const events = d.actions.filter((a) => a.type === 'event' && a.reason === 'NodeNotReady');
    expect(events).to.have.length(1);
    expect((events[0] as { message: string }).message).to.match(
      /^5000 nodes failed \(scanner pod not ready\): node ip-10-0-0-0\..*; and 4990 more$/,
    );
    console.log(`      (status of 5000 failed nodes: ${(bytes / 1024).toFixed(0)} KiB)`);
  });
});
