#!/usr/bin/env node
/**
 * Entry point. `main.js controller` runs the ContainerScan controller; `main.js reporter` runs in the scanner
 * DaemonSet pod and writes that node's ScanResult status.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { loadTemplate } from './daemonset.js';
import { loadKubeConfig, makeClients } from './kube.js';
import { parseDuration } from './duration.js';
import { LEADER_DEFAULTS, LeaderElector } from './leader.js';
import { log } from './log.js';
import { Manager } from './manager.js';
import { Metrics } from './metrics.js';
import { Reconciler } from './reconciler.js';
import { report } from './reporter.js';
import { startServer } from './server.js';

const USAGE = `usage:
  main.js controller [--port 8080] [--concurrency 4] [--no-leader-elect]
                     [--lease-duration 15s] [--renew-deadline 10s] [--retry-period 2s]
      env: POD_NAMESPACE (or WATCH_NAMESPACE), SCANNER_IMAGE, REPORTER_IMAGE, REPORTER_SERVICE_ACCOUNT, POD_NAME
  main.js reporter --scan /scan/scan.json --report /scan/report.json [--once] [--max-scan-bytes N]
      env: NODE_NAME, POD_NAMESPACE, RUN`;

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is required\n${USAGE}`);
  return v;
}

function positiveInt(text: string | undefined, what: string, dflt: number): number {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${what} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

/** Resolves on SIGTERM or SIGINT. */
function terminated(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

async function runReporter(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { scan: { type: 'string' }, report: { type: 'string' }, once: { type: 'boolean' }, 'max-scan-bytes': { type: 'string' } },
  });
  if (!values.scan || !values.report) throw new Error(`--scan and --report are required\n${USAGE}`);
  const c = makeClients(loadKubeConfig());
  const opts = {
    scanPath: values.scan,
    reportPath: values.report,
    node: required('NODE_NAME'),
    namespace: required('POD_NAMESPACE'),
    run: required('RUN'),
    maxScanBytes: positiveInt(values['max-scan-bytes'], '--max-scan-bytes', 1024 * 1024),
  };
  if (values.once) return (await report(c, opts)).phase === 'Reported' ? 0 : 2;
  try {
    await report(c, opts);
  } catch (e) {
    // Exiting would only make the DaemonSet restart the pod and try again forever (e.g. on a node that joined
    // after the run started and has no ScanResult); the controller times the node out instead.
    log.error('could not report; idling', { error: (e as Error).message });
  }
  // Idle until the controller deletes the DaemonSet: exiting would make the DaemonSet restart the pod.
  log.info('report written; idling until the pod is deleted', { signal: await terminated() });
  return 0;
}

async function runController(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      concurrency: { type: 'string' },
      'no-leader-elect': { type: 'boolean' },
      'lease-duration': { type: 'string' },
      'renew-deadline': { type: 'string' },
      'retry-period': { type: 'string' },
    },
  });
  const duration = (flag: 'lease-duration' | 'renew-deadline' | 'retry-period', dflt: number) => {
    const v = values[flag];
    if (v === undefined) return dflt;
    try {
      return parseDuration(v);
    } catch (e) {
      throw new Error(`--${flag}: ${(e as Error).message}`);
    }
  };
  const timings = {
    leaseDurationMs: duration('lease-duration', LEADER_DEFAULTS.leaseDurationMs),
    renewDeadlineMs: duration('renew-deadline', LEADER_DEFAULTS.renewDeadlineMs),
    retryPeriodMs: duration('retry-period', LEADER_DEFAULTS.retryPeriodMs),
  };
  const namespace = process.env.WATCH_NAMESPACE ?? required('POD_NAMESPACE');
  const identity = process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const clients = makeClients(loadKubeConfig());
  const metrics = new Metrics();
  const reconciler = new Reconciler({
    clients,
    namespace,
    template: loadTemplate(),
    images: { scanner: required('SCANNER_IMAGE'), reporter: required('REPORTER_IMAGE') },
    ...(process.env.REPORTER_SERVICE_ACCOUNT ? { reporterServiceAccount: process.env.REPORTER_SERVICE_ACCOUNT } : {}),
    metrics,
    identity,
  });
  const manager = new Manager({ clients, namespace, reconciler, metrics, concurrency: positiveInt(values.concurrency, '--concurrency', 4) });
  let failed: Error | undefined;
  const server = await startServer(positiveInt(values.port, '--port', 8080), { live: () => failed === undefined, ready: () => !elector || !elector.isLeader || manager.isSynced }, metrics);

  let elector: LeaderElector | undefined;
  let lost: () => void = () => undefined;
  const lostLeadership = new Promise<string>((r) => (lost = () => r('controller failed')));
  const lead = () => {
    metrics.leader.set(1);
    manager.start().catch((e: Error) => {
      failed = e;
      log.error('controller failed to start', { error: e.message });
      lost();
    });
  };
  if (values['no-leader-elect']) lead();
  else {
    elector = new LeaderElector(clients, { namespace, name: process.env.LEASE_NAME ?? 'containerscan-controller', identity, ...timings });
    metrics.leader.set(0);
    elector.start(lead, () => {
      // Stop acting now, as client-go's controllers do: no drain, no more requests. Another replica may take the
      // lease once it expires; the pod restarts and competes again.
      process.exit(1);
    });
  }
  const why = await Promise.race([terminated(), lostLeadership]);
  log.info('shutting down', { reason: why });
  await manager.stop();
  await elector?.release();
  await new Promise((r) => server.close(r));
  return why === 'controller failed' ? 1 : 0;
}

async function main(): Promise<number> {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === 'reporter') return runReporter(rest);
  if (mode === 'controller' || mode === undefined) return runController(rest);
  process.stderr.write(`unknown mode ${JSON.stringify(mode)}\n${USAGE}\n`);
  return 64;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    log.error(e.message, { stack: e.stack });
    process.exit(1);
  },
);
