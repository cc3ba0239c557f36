/**
 * The controller program (`main.js controller`): elects a leader, then reconciles every ContainerScan of its
 * namespace, serving health and metrics.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { LEADER_DEFAULTS, LeaderElector } from '../kube/leader.js';
import { loadKubeConfig, makeClients } from '../kube/clients.js';
import { loadTemplate } from '../reconcile/daemonset.js';
import { Reconciler } from '../reconcile/reconciler.js';
import { flagDuration, positiveInt, required, terminated } from '../util/cli.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_WATCH_TIMEOUT_MS } from '../kube/timeouts.js';
import { log } from '../util/log.js';
import { Manager } from './manager.js';
import { Metrics } from './metrics.js';
import { startServer } from './server.js';

export async function runController(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      concurrency: { type: 'string' },
      'no-leader-elect': { type: 'boolean' },
      'lease-duration': { type: 'string' },
      'renew-deadline': { type: 'string' },
      'retry-period': { type: 'string' },
      'request-timeout': { type: 'string' },
      'watch-timeout': { type: 'string' },
    },
  });
  const duration = (
    flag: 'lease-duration' | 'renew-deadline' | 'retry-period' | 'request-timeout' | 'watch-timeout',
    dflt: number,
  ) => flagDuration(values[flag], flag, dflt);
  const timings = {
    leaseDurationMs: duration('lease-duration', LEADER_DEFAULTS.leaseDurationMs),
    renewDeadlineMs: duration('renew-deadline', LEADER_DEFAULTS.renewDeadlineMs),
    retryPeriodMs: duration('retry-period', LEADER_DEFAULTS.retryPeriodMs),
  };
  const namespace = process.env.WATCH_NAMESPACE ?? required('POD_NAMESPACE');
  const identity = process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const clients = makeClients(loadKubeConfig(), {
    requestMs: duration('request-timeout', DEFAULT_REQUEST_TIMEOUT_MS),
    watchMs: duration('watch-timeout', DEFAULT_WATCH_TIMEOUT_MS),
  });
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
  const manager = new Manager({
    clients,
    namespace,
    reconciler,
    metrics,
    concurrency: positiveInt(values.concurrency, '--concurrency', 4),
  });
  let failed: Error | undefined;
  const server = await startServer(
    positiveInt(values.port, '--port', 8080),
    { live: () => failed === undefined, ready: () => !elector || !elector.isLeader || manager.isSynced },
    metrics,
  );

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
    elector = new LeaderElector(clients, {
      namespace,
      name: process.env.LEASE_NAME ?? 'containerscan-controller',
      identity,
      ...timings,
    });
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
