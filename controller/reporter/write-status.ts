/**
 * Reporter mode: runs unprivileged beside the node scanner, after it. Reads scan.json and report.json from the
 * shared emptyDir, validates them, writes this node's ScanResult status, then idles until the pod is deleted (a
 * DaemonSet pod that exits would be restarted and report again).
 */
import { open } from 'node:fs/promises';
import { GROUP, RESULTS, VERSION, type ScanResultStatus } from '../api/resources.js';
import { describeError, mergePatch, statusCode, type Clients } from '../kube/clients.js';
import { log } from '../util/log.js';
import { scanResultName } from '../api/names.js';
import { buildResultStatus, DEFAULT_MAX_REPORT_BYTES, DEFAULT_MAX_SCAN_BYTES } from './validate-scan.js';
import { systemClock, type Clock } from '../reconcile/runstate.js';
import { sleep } from '../util/sleep.js';

export interface ReporterOptions {
  scanPath: string;
  reportPath: string;
  node: string;
  namespace: string;
  run: string;
  maxScanBytes?: number;
  maxReportBytes?: number;
  clock?: Clock;
  /** How long to keep retrying the status write (API server restarts, network blips). */
  retryForMs?: number;
}

/** Reads at most max+1 bytes, so an oversized file is detected without loading it. Missing file: undefined. */
export async function readCapped(path: string, max: number): Promise<Buffer | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const buf = Buffer.alloc(max + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n === buf.length) break;
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

/** Validates the files and writes the status; returns what was written. */
export async function writeNodeStatus(c: Clients, o: ReporterOptions): Promise<ScanResultStatus> {
  const clock = o.clock ?? systemClock;
  const maxScan = o.maxScanBytes ?? DEFAULT_MAX_SCAN_BYTES;
  const maxReport = o.maxReportBytes ?? DEFAULT_MAX_REPORT_BYTES;
  let status: ScanResultStatus;
  try {
    const scan = await readCapped(o.scanPath, maxScan);
    const rep = await readCapped(o.reportPath, maxReport);
    status = buildResultStatus(o.node, scan, rep, clock.now(), { maxScanBytes: maxScan, maxReportBytes: maxReport });
  } catch (e) {
    status = {
      phase: 'Failed',
      reportedAt: clock.now().toISOString(),
      error: `could not read the scanner output: ${(e as Error).message}`,
    };
  }
  const name = scanResultName(o.run, o.node);
  const deadline = Date.now() + (o.retryForMs ?? 120_000);
  for (let attempt = 1; ; attempt++) {
    try {
      await c.custom.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, namespace: o.namespace, plural: RESULTS, name, body: { status } },
        mergePatch,
      );
      break;
    } catch (e) {
      const code = statusCode(e);
      // A malformed request will not heal; 403 and 404 may (RBAC and the ScanResult can lag the pod briefly), so
      // they are retried like outages until the deadline.
      if (code === 400 || code === 422 || Date.now() > deadline)
        throw new Error(`writing ScanResult ${o.namespace}/${name} status: ${describeError(e)}`, { cause: e });
      log.warn('status write failed; retrying', { scanResult: name, attempt, error: describeError(e) });
      await sleep(Math.min(500 * 2 ** attempt, 10_000));
    }
  }
  log.info('node reported', {
    scanResult: name,
    node: o.node,
    phase: status.phase,
    containers: status.containersScanned ?? 0,
    error: status.error,
  });
  return status;
}
