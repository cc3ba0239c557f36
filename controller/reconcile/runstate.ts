/**
 * The run state machine, free of I/O: given a ContainerScan, what was observed in the cluster and the time, it
 * says what the status becomes, which actions to take, and when to look again. The clock is a parameter so that
 * every timeout is unit-tested.
 */
import { createHash } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import {
  MAX_SCAN_NAME,
  type Condition,
  type ContainerScan,
  type ContainerScanStatus,
  type FailureReason,
  type NodeStatus,
  type PublishedResult,
} from '../api/resources.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import { runName } from '../api/names.js';
import { stableStringify } from '../util/stable-stringify.js';

/** Digest of the spec fields that shape a run; schedule, suspend and history changes do not start a run. */
export function runSpecHash(spec: ContainerScan['spec']): string {
  const { schedule: _s, suspend: _p, historyLimit: _h, ...rest } = spec ?? {};
  return createHash('sha256').update(stableStringify(rest)).digest('hex').slice(0, 16);
}

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export interface Timeouts {
  readinessMs: number;
  scanMs: number;
  teardownMs: number;
}

export const DEFAULTS = { readinessTimeout: '2m', scanTimeout: '5m', teardownTimeout: '1m', historyLimit: 3 };

/** Validates the spec; returns the problem as a sentence, or the parsed timeouts. */
export function checkSpec(scan: ContainerScan): { error: string } | { timeouts: Timeouts } {
  if (scan.metadata.name.length > MAX_SCAN_NAME)
    return {
      error:
        `name is ${scan.metadata.name.length} characters long; at most ${MAX_SCAN_NAME} are allowed (run ` +
        `objects derive their names from it)`,
    };
  const s = scan.spec ?? {};
  try {
    if (s.schedule !== undefined) {
      // cron-parser also takes a seconds field; the contract is the standard 5 fields, so a 6-field expression
      // (which would run every few seconds) is refused, not reinterpreted.
      const fields = s.schedule.trim().split(/\s+/).length;
      if (fields !== 5)
        throw new Error(`it has ${fields} fields; exactly 5 are expected (minute hour day-of-month month day-of-week)`);
      nextScheduleTime(s.schedule, new Date(0));
    }
  } catch (e) {
    return {
      error: `spec.schedule ${JSON.stringify(s.schedule)} is not a valid cron expression: ${(e as Error).message}`,
    };
  }
  try {
    const timeouts = {
      readinessMs: parseDuration(s.readinessTimeout ?? DEFAULTS.readinessTimeout),
      scanMs: parseDuration(s.scanTimeout ?? DEFAULTS.scanTimeout),
      teardownMs: parseDuration(s.teardownTimeout ?? DEFAULTS.teardownTimeout),
    };
    return { timeouts };
  } catch (e) {
    return { error: `spec: ${(e as Error).message}` };
  }
}

export function nextScheduleTime(schedule: string, after: Date): Date {
  return CronExpressionParser.parse(schedule, { currentDate: after, tz: 'UTC', strict: false }).next().toDate();
}

/**
 * Whether a new run must start now: never ran, the spec changed since the last run, or the schedule is due. A
 * suspended scan starts no run at all (a first run and a spec-change run wait for the suspension to end).
 */
export function runDue(scan: ContainerScan, now: Date): string | undefined {
  const st = scan.status ?? {};
  if (st.phase === 'Running' || st.phase === 'TearingDown') return undefined;
  if (scan.spec?.suspend) return undefined;
  if (st.runNumber === undefined || st.runNumber === 0) return 'first run';
  const changed =
    st.specHash !== undefined
      ? st.specHash !== runSpecHash(scan.spec)
      : (scan.metadata.generation ?? 0) !== (st.observedGeneration ?? 0);
  if (changed) return 'spec changed';
  if (scan.spec.schedule && st.nextRunTime && now.getTime() >= Date.parse(st.nextRunTime)) return 'schedule';
  return undefined;
}

export function setCondition(
  conditions: Condition[] | undefined,
  c: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  const old = i >= 0 ? list[i] : undefined;
  const lastTransitionTime = old && old.status === c.status ? old.lastTransitionTime : now.toISOString();
  const next = { ...c, lastTransitionTime };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

/** The status of a run that starts now on the given nodes. */
export function startRun(scan: ContainerScan, nodes: string[], now: Date): ContainerScanStatus {
  const st = scan.status ?? {};
  const runNumber = (st.runNumber ?? 0) + 1;
  const run = runName(scan.metadata.name, runNumber);
  const gen = scan.metadata.generation ?? 0;
  let conditions = setCondition(
    st.conditions,
    {
      type: 'Scanning',
      status: 'True',
      reason: 'RunStarted',
      message: `run ${run} started on ${nodes.length} node(s)`,
      observedGeneration: gen,
    },
    now,
  );
  conditions = setCondition(
    conditions,
    {
      type: 'Complete',
      status: 'False',
      reason: 'RunInProgress',
      message: `run ${run} in progress`,
      observedGeneration: gen,
    },
    now,
  );
  const status: ContainerScanStatus = {
    ...st,
    observedGeneration: gen,
    specHash: runSpecHash(scan.spec),
    phase: 'Running',
    runNumber,
    run,
    startTime: now.toISOString(),
    nodesDesired: nodes.length,
    nodesReported: 0,
    nodesFailed: 0,
    containersScanned: 0,
    containersDetected: 0,
    nodes: [...nodes].sort().map((name) => ({ name, phase: 'Pending' as const })),
    errors: [],
    failureCounts: [],
    conditions,
  };
  delete status.completionTime;
  delete status.teardownStartTime;
  delete status.nextRunTime;
  return status;
}

/** What the cluster showed for the current run. */
export interface Observed {
  /**
   * Reports by node name, from the ScanResult the controller created for the node, re-validated (counts come from
   * the tree); a Failed one says why (the reporter's error, or the controller's refusal of the report).
   */
  reports: Map<
    string,
    | { phase: 'Reported'; containersScanned?: number; containersDetected?: number }
    | { phase: 'Failed'; reason?: FailureReason; error?: string }
  >;
  /** Nodes whose scanner pod is ready (the scan ran; the reporter is up). */
  readyNodes: Set<string>;
  /** Whether the run's DaemonSet and its pods are gone. */
  runObjectsGone: boolean;
  /** Why a node's scanner pod is not ready, when the pods tell (for the error of a node that times out). */
  podProblems?: Map<string, string>;
  /** Why the DaemonSet cannot create scanner pods at all (e.g. Pod Security admission), with the fix. */
  podCreateProblem?: string;
}

export type Action =
  | { type: 'ensureRunObjects' }
  | { type: 'publish' }
  | { type: 'deleteRunObjects' }
  | { type: 'forcePrune' }
  | { type: 'publishLatest' }
  | { type: 'pruneHistory' }
  /** Write the controller's verdict on a node into its ScanResult, where the details of each node live. */
  | { type: 'failScanResult'; node: string; uid: string; error: string }
  | { type: 'event'; kind: 'Normal' | 'Warning'; reason: string; message: string };

export interface Decision {
  status: ContainerScanStatus;
  actions: Action[];
  /** Look again after this many ms even without any event (the next deadline). */
  requeueAfterMs?: number;
}

/** Errors kept in the ContainerScan status: the first ones, then one line with the number left out. */
export const MAX_STATUS_ERRORS = 20;
const MORE_ERRORS_RE = /^… and (\d+) more errors/;

/** Caps an error list; a marker left by an earlier cap is counted in, so capping again stays exact. */
export function capErrors(errors: string[] | undefined): string[] | undefined {
  if (!errors) return errors;
  let hidden = 0;
  const plain = errors.filter((e) => {
    const m = MORE_ERRORS_RE.exec(e);
    if (m) hidden += Number(m[1]);
    return !m;
  });
  if (plain.length + (hidden ? 1 : 0) <= MAX_STATUS_ERRORS) return hidden ? [...plain, moreErrors(hidden)] : plain;
  const kept = plain.slice(0, MAX_STATUS_ERRORS - 1);
  return [...kept, moreErrors(hidden + plain.length - kept.length)];
}

function moreErrors(n: number): string {
  return (
    `… and ${n} more errors (failed nodes by reason in status.failureCounts; details in their ScanResults and ` +
    `the Events)`
  );
}

/** Nodes named in one aggregated Event. */
const EVENT_NODES = 10;
const FAILURE_WORDS: Record<FailureReason, string> = {
  NodeNotReady: 'scanner pod not ready',
  NodeTimedOut: 'no report in time',
  NodeFailed: 'reporter failed',
  ReportRejected: 'report refused by the controller',
};

function countNodes(status: ContainerScanStatus, nodes: NodeStatus[]): void {
  status.nodes = nodes;
  status.nodesReported = nodes.filter((n) => n.phase === 'Reported').length;
  status.nodesFailed = nodes.filter((n) => n.phase === 'Failed').length;
  const counts = new Map<FailureReason, number>();
  for (const n of nodes) if (n.phase === 'Failed' && n.reason) counts.set(n.reason, (counts.get(n.reason) ?? 0) + 1);
  status.failureCounts = [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([reason, count]) => ({ reason, count }));
}

/**
 * One step of a run in progress. Running: track reports and readiness, fail the nodes past their deadline, and
 * publish once every node is settled (when at least one reported). TearingDown: wait for the DaemonSet to go,
 * prune by force past the teardown timeout. The caller performs the actions, then writes the status (actions are
 * idempotent, so a conflict or a restart only repeats them).
 */
export function step(scan: ContainerScan, observed: Observed, now: Date, timeouts: Timeouts): Decision {
  const st: ContainerScanStatus = structuredClone(scan.status ?? {});
  const t = now.getTime();
  const gen = scan.metadata.generation ?? 0;
  const actions: Action[] = [];

  if (st.phase === 'Running') {
    const started = Date.parse(st.startTime ?? now.toISOString());
    const readyBy = started + timeouts.readinessMs;
    const reportBy = started + timeouts.scanMs;
    const nodes = (st.nodes ?? []).map((n) => ({ ...n }));
    const failedNow = new Map<FailureReason, string[]>();
    const fail = (n: NodeStatus, reason: FailureReason, error: string, tellScanResult: boolean) => {
      n.phase = 'Failed';
      n.reason = reason;
      const msg = `node ${n.name}: ${error}`;
      st.errors = [...(st.errors ?? []), msg];
      failedNow.set(reason, [...(failedNow.get(reason) ?? []), msg]);
      if (tellScanResult && n.scanResultUID)
        actions.push({ type: 'failScanResult', node: n.name, uid: n.scanResultUID, error });
      // Nothing of a failed node is merged: its UID is not needed any more, and 5000 of them weigh 250 KB.
      delete n.scanResultUID;
    };
    for (const n of nodes) {
      if (n.phase === 'Reported' || n.phase === 'Failed') continue;
      const report = observed.reports.get(n.name);
      if (report) {
        if (report.phase === 'Reported') n.phase = 'Reported';
        else
          fail(
            n,
            report.reason ?? 'NodeFailed',
            report.error ?? 'reporter gave no reason',
            report.reason === 'ReportRejected',
          );
        continue;
      }
      if (observed.readyNodes.has(n.name)) n.phase = 'Ready';
      if (n.phase === 'Pending' && t >= readyBy) {
        const why = observed.podProblems?.get(n.name);
        fail(
          n,
          'NodeNotReady',
          `scanner pod not ready within ${formatDuration(timeouts.readinessMs)}${why ? `: ${why}` : ''}`,
          true,
        );
      } else if (t >= reportBy) {
        fail(n, 'NodeTimedOut', `no report within the scan timeout of ${formatDuration(timeouts.scanMs)}`, true);
      }
    }
    // One Event per reason and step, naming the first nodes: 5000 failing nodes are a handful of Events.
    for (const [reason, msgs] of failedNow) {
      const more = msgs.length > EVENT_NODES ? `; and ${msgs.length - EVENT_NODES} more` : '';
      const message =
        msgs.length === 1
          ? msgs[0]!
          : `${msgs.length} nodes failed (${FAILURE_WORDS[reason]}): ${msgs.slice(0, EVENT_NODES).join('; ')}${more}`;
      actions.push({ type: 'event', kind: 'Warning', reason, message });
    }
    countNodes(st, nodes);
    st.containersScanned = 0;
    st.containersDetected = 0;
    for (const n of nodes) {
      const r = n.phase === 'Reported' ? observed.reports.get(n.name) : undefined;
      if (r?.phase !== 'Reported') continue;
      st.containersScanned += r.containersScanned ?? 0;
      st.containersDetected += r.containersDetected ?? 0;
    }
    const pending = nodes.filter((n) => n.phase === 'Pending' || n.phase === 'Ready');
    if (pending.length > 0) {
      if (observed.podCreateProblem && pending.some((n) => n.phase === 'Pending')) {
        st.conditions = setCondition(
          st.conditions,
          {
            type: 'Degraded',
            status: 'True',
            reason: 'ScannerPodsRejected',
            message: observed.podCreateProblem,
            observedGeneration: gen,
          },
          now,
        );
        actions.push({
          type: 'event',
          kind: 'Warning',
          reason: 'ScannerPodsRejected',
          message: observed.podCreateProblem,
        });
      }
      st.errors = capErrors(st.errors);
      actions.unshift({ type: 'ensureRunObjects' });
      const nextDeadline = pending.some((n) => n.phase === 'Pending') ? Math.min(readyBy, reportBy) : reportBy;
      return { status: st, actions, requeueAfterMs: Math.max(0, nextDeadline - t) };
    }
    // Every node settled: publish what there is (a failed node never stops the gathering), then tear down. A run
    // where no node reported publishes nothing: an empty result would read as "no containers" and replace the last
    // good one.
    if (nodes.length === 0)
      st.errors = [...(st.errors ?? []), "no node matches the scan's node selector and tolerations"];
    st.errors = capErrors(st.errors);
    if ((st.nodesReported ?? 0) > 0) {
      // What was published (and its Event) follows from the outcome: recordPublication.
      actions.push({ type: 'publish' }, { type: 'deleteRunObjects' });
    } else {
      actions.push({ type: 'deleteRunObjects' });
      actions.push({
        type: 'event',
        kind: 'Warning',
        reason: 'NothingReported',
        message: `run ${st.run}: no node reported; nothing published`,
      });
    }
    st.phase = 'TearingDown';
    st.teardownStartTime = now.toISOString();
    return { status: st, actions, requeueAfterMs: timeouts.teardownMs };
  }

  if (st.phase === 'TearingDown') {
    const tornBy = Date.parse(st.teardownStartTime ?? now.toISOString()) + timeouts.teardownMs;
    if (!observed.runObjectsGone) {
      if (t < tornBy) return { status: st, actions: [{ type: 'deleteRunObjects' }], requeueAfterMs: tornBy - t };
      const msg =
        `scanner DaemonSet not deleted within the teardown timeout of ` +
        `${formatDuration(timeouts.teardownMs)}; its leftovers were pruned`;
      st.errors = capErrors([...(st.errors ?? []), msg]);
      actions.push(
        { type: 'forcePrune' },
        { type: 'event', kind: 'Warning', reason: 'TeardownTimedOut', message: msg },
      );
    }
    // Completed only when this run's result was published (recordPublication set status.result to it); a run whose
    // result could not be published, or where no node reported, fails and leaves the last result in place.
    const published = st.result?.run === st.run;
    st.phase = published ? 'Completed' : 'Failed';
    st.completionTime = now.toISOString();
    let conditions = setCondition(
      st.conditions,
      {
        type: 'Scanning',
        status: 'False',
        reason: 'RunFinished',
        message: `run ${st.run} finished`,
        observedGeneration: gen,
      },
      now,
    );
    const complete = conditions.find((c) => c.type === 'Complete');
    conditions = setCondition(
      conditions,
      published
        ? completeCondition(st.run!, st.result!, gen)
        : (st.nodesReported ?? 0) === 0
          ? {
              type: 'Complete',
              status: 'False',
              reason: 'NoNodeReported',
              message: `run ${st.run}: no node reported, nothing was published`,
              observedGeneration: gen,
            }
          : {
              type: 'Complete',
              status: 'False',
              reason: PUBLICATION_FAILED,
              message:
                complete?.reason === PUBLICATION_FAILED
                  ? complete.message
                  : `run ${st.run}: its result could not be published`,
              observedGeneration: gen,
            },
      now,
    );
    conditions = setCondition(conditions, degradedCondition(st.errors, gen), now);
    st.conditions = conditions;
    // The stable pointer moves to this run only now that it is complete and published; older runs go after it. A
    // run that published nothing leaves the pointer at the previous result.
    if (published) actions.push({ type: 'publishLatest' });
    actions.push({ type: 'pruneHistory' });
    const took = formatDuration(t - Date.parse(st.startTime ?? now.toISOString()));
    actions.push(
      published
        ? { type: 'event', kind: 'Normal', reason: 'Completed', message: `run ${st.run} completed in ${took}` }
        : {
            type: 'event',
            kind: 'Warning',
            reason: 'RunFailed',
            message:
              `run ${st.run} failed after ${took}: ` +
              ((st.nodesReported ?? 0) === 0 ? 'no node reported' : 'its result could not be published'),
          },
    );
    return finish(scan, st, actions, now);
  }

  // At rest: a spec change that does not call for a run (schedule, suspend, history) is taken in here.
  if ((st.observedGeneration ?? 0) !== gen) {
    st.observedGeneration = gen;
    delete st.nextRunTime;
  }
  if (scan.spec.suspend && !st.run) {
    // Suspended before its first run: say so, rather than leave an empty status.
    st.phase = 'Pending';
    st.conditions = setCondition(
      st.conditions,
      {
        type: 'Scanning',
        status: 'False',
        reason: 'Suspended',
        message: 'spec.suspend is true: no run starts until it is false',
        observedGeneration: gen,
      },
      now,
    );
  }
  return finish(scan, st, actions, now);
}

/** Settles the schedule of a scan at rest. */
function finish(scan: ContainerScan, st: ContainerScanStatus, actions: Action[], now: Date): Decision {
  if (!scan.spec.schedule || scan.spec.suspend || !st.run) {
    delete st.nextRunTime;
    return { status: st, actions };
  }
  if (!st.nextRunTime) {
    // The next slot after the run's start, so a run that took a while does not shift the schedule.
    st.nextRunTime = nextScheduleTime(scan.spec.schedule, new Date(st.startTime ?? now.toISOString())).toISOString();
  }
  return { status: st, actions, requeueAfterMs: Math.max(0, Date.parse(st.nextRunTime) - now.getTime()) };
}

/** The status of a scan whose spec cannot run (or that this controller does not handle). */
export function invalid(
  scan: ContainerScan,
  error: string,
  now: Date,
  condition: { type: string; reason: string } = { type: 'Degraded', reason: 'InvalidSpec' },
): ContainerScanStatus {
  const st = structuredClone(scan.status ?? {});
  st.phase = st.run ? st.phase : 'Failed';
  st.observedGeneration = scan.metadata.generation ?? 0;
  st.conditions = setCondition(
    st.conditions,
    {
      type: condition.type,
      status: condition.type === 'Degraded' ? 'True' : 'False',
      reason: condition.reason,
      message: error,
      observedGeneration: st.observedGeneration,
    },
    now,
  );
  return st;
}

/** The Complete condition's reason when a run's result could not be published. */
export const PUBLICATION_FAILED = 'PublicationFailed';
/** Omitted pods named in status.result and in the Complete condition (all of them are in the index's errors). */
export const OMITTED_NAMES = 10;

function degradedCondition(errors: string[] | undefined, gen: number): Omit<Condition, 'lastTransitionTime'> {
  const errs = errors ?? [];
  return errs.length
    ? {
        type: 'Degraded',
        status: 'True',
        reason: 'RunErrors',
        message: errs.slice(0, 5).join('; ') + (errs.length > 5 ? `; and ${errs.length - 5} more` : ''),
        observedGeneration: gen,
      }
    : {
        type: 'Degraded',
        status: 'False',
        reason: 'NoErrors',
        message: 'every targeted node reported',
        observedGeneration: gen,
      };
}

function completeCondition(run: string, result: PublishedResult, gen: number): Omit<Condition, 'lastTransitionTime'> {
  const omitted = result.omittedPods ?? 0;
  if (!omitted)
    return {
      type: 'Complete',
      status: 'True',
      reason: 'Published',
      message: `run ${run} published ${result.configMap}`,
      observedGeneration: gen,
    };
  const names = result.omittedPodNames ?? [];
  return {
    type: 'Complete',
    status: 'True',
    reason: 'PartiallyPublished',
    message:
      `run ${run} published ${result.configMap} without ${omitted} pod(s) too large to publish: ` +
      `${names.join(', ')}${omitted > names.length ? ` and ${omitted - names.length} more` : ''}`,
    observedGeneration: gen,
  };
}

/** What publishing a run's result came to (the reconciler writes it; status and Events follow from it here). */
export type PublicationOutcome =
  | {
      kind: 'published';
      result: PublishedResult;
      /** One error line per pod left out (too large for a shard), as the index carries them. */
      omittedErrors: string[];
    }
  | { kind: 'failed'; error: string; omittedErrors: string[] };

/**
 * Records the outcome of the publish action in the status of a run going to its teardown and says which Events
 * tell it. Published: status.result names this run's result (its pods left out counted and the first named). Failed
 * (the API server refused a write, or every pod was too large): status.result keeps the last published result, the
 * error is recorded and the Complete condition says why at once; the run ends Failed after its teardown.
 */
export function recordPublication(
  st: ContainerScanStatus,
  outcome: PublicationOutcome,
  now: Date,
  gen: number,
): Extract<Action, { type: 'event' }>[] {
  const run = st.run ?? '';
  const events: Extract<Action, { type: 'event' }>[] = [];
  const omitted = outcome.omittedErrors;
  const listOmitted = () =>
    omitted.slice(0, EVENT_NODES).join('; ') +
    (omitted.length > EVENT_NODES ? `; and ${omitted.length - EVENT_NODES} more` : '');
  if (outcome.kind === 'published') {
    st.result = outcome.result;
    st.errors = capErrors([...(st.errors ?? []), ...omitted]);
    const r = outcome.result;
    events.push({
      type: 'event',
      kind: st.nodesFailed || omitted.length ? 'Warning' : 'Normal',
      reason: 'Published',
      message:
        `run ${run}: ${r.containers} container(s) from ${st.nodesReported}/${st.nodesDesired} node(s) published` +
        `${st.nodesFailed ? ` with ${st.nodesFailed} failed node(s)` : ''}` +
        `${omitted.length ? `; ${omitted.length} pod(s) left out, too large to publish` : ''}`,
    });
    if (omitted.length)
      events.push({
        type: 'event',
        kind: 'Warning',
        reason: 'PodsOmitted',
        message: `run ${run}: ${omitted.length} pod(s) left out of the published result: ${listOmitted()}`,
      });
    return events;
  }
  const error = `result not published: ${outcome.error}`;
  st.errors = capErrors([...(st.errors ?? []), error, ...omitted]);
  const keeps = st.result ? `the last published result (run ${st.result.run}) stays` : 'no result is published yet';
  setPublicationFailed(st, `run ${run}: ${error}`, now, gen);
  events.push({ type: 'event', kind: 'Warning', reason: 'PublishFailed', message: `run ${run}: ${error}; ${keeps}` });
  return events;
}

/** Complete=False with reason PublicationFailed: the run's result could not be published (`message` says why). */
function setPublicationFailed(st: ContainerScanStatus, message: string, now: Date, gen: number): void {
  st.conditions = setCondition(
    st.conditions,
    { type: 'Complete', status: 'False', reason: PUBLICATION_FAILED, message, observedGeneration: gen },
    now,
  );
}

/**
 * The end of a run whose result was written but whose pointer `<scan>-latest` the API server refused: readers still
 * get the previous result, so the run is not Completed. status.result goes back to what the pointer holds.
 */
export function pointerRefused(
  st: ContainerScanStatus,
  pointer: string,
  error: string,
  pointed: PublishedResult | undefined,
  now: Date,
  gen: number,
): Extract<Action, { type: 'event' }>[] {
  const run = st.run ?? '';
  const msg =
    `result not published: ${st.result?.configMap ?? 'the index'} was written, but the API server refused ` +
    `the pointer ${pointer}: ${error}`;
  st.phase = 'Failed';
  st.errors = capErrors([...(st.errors ?? []), msg]);
  if (pointed) st.result = pointed;
  else delete st.result;
  setPublicationFailed(st, `run ${run}: ${msg}`, now, gen);
  st.conditions = setCondition(st.conditions, degradedCondition(st.errors, gen), now);
  const keeps = pointed ? `readers still get run ${pointed.run}` : 'readers get no result yet';
  const took = formatDuration(now.getTime() - Date.parse(st.startTime ?? now.toISOString()));
  return [
    { type: 'event', kind: 'Warning', reason: 'PublishFailed', message: `run ${run}: ${msg}; ${keeps}` },
    {
      type: 'event',
      kind: 'Warning',
      reason: 'RunFailed',
      message: `run ${run} failed after ${took}: its result could not be published`,
    },
  ];
}
