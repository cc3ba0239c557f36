/**
 * The reporter program (`main.js reporter`): runs in each scanner DaemonSet pod after the node scanner, writes that
 * node's ScanResult status, then idles until the pod is deleted.
 */
import { parseArgs } from 'node:util';
import { loadKubeConfig, makeClients } from '../kube/clients.js';
import { flagDuration, positiveInt, required, terminated, USAGE } from '../util/cli.js';
import { DEFAULT_TIMEOUTS } from '../kube/timeouts.js';
import { log } from '../util/log.js';
import { writeNodeStatus } from './write-status.js';

export async function runReporter(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      scan: { type: 'string' },
      report: { type: 'string' },
      once: { type: 'boolean' },
      'max-scan-bytes': { type: 'string' },
      'request-timeout': { type: 'string' },
    },
  });
  if (!values.scan || !values.report) throw new Error(`--scan and --report are required\n${USAGE}`);
  const c = makeClients(loadKubeConfig(), {
    ...DEFAULT_TIMEOUTS,
    requestMs: flagDuration(values['request-timeout'], 'request-timeout', DEFAULT_TIMEOUTS.requestMs),
  });
  const opts = {
    scanPath: values.scan,
    reportPath: values.report,
    node: required('NODE_NAME'),
    namespace: required('POD_NAMESPACE'),
    run: required('RUN'),
    maxScanBytes: positiveInt(values['max-scan-bytes'], '--max-scan-bytes', 1024 * 1024),
  };
  if (values.once) return (await writeNodeStatus(c, opts)).phase === 'Reported' ? 0 : 2;
  try {
    await writeNodeStatus(c, opts);
  } catch (e) {
    // Exiting would only make the DaemonSet restart the pod and try again forever (e.g. on a node that joined
    // after the run started and has no ScanResult); the controller times the node out instead.
    log.error('could not report; idling', { error: (e as Error).message });
  }
  // Idle until the controller deletes the DaemonSet: exiting would make the DaemonSet restart the pod.
  log.info('report written; idling until the pod is deleted', { signal: await terminated() });
  return 0;
}
