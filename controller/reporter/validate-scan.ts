/**
 * Validation of what the node scanner wrote, done by the unprivileged reporter before anything reaches the API:
 * size caps, the exact shape of scan.json and report.json, bounded printable values. Whatever fails becomes a
 * Failed ScanResult with the reason, never a crash.
 */
import {
  CONTAINER_ID_PATTERN,
  MAX_RUNTIMES,
  MAX_VALUE_LENGTH,
  RUNTIMES_KEY,
  SCANNER_KEYS,
  VALUE_PATTERN,
  type ContainerInfo,
  type ScannerKey,
  type Runtime,
  type RuntimeTree,
} from '../api/scan-tree.js';
import type { ScanResultStatus } from '../api/resources.js';
import { formatDuration } from '../util/duration.js';

export const DEFAULT_MAX_SCAN_BYTES = 1024 * 1024;
export const DEFAULT_MAX_REPORT_BYTES = 4 * 1024 * 1024;
export const MAX_FAILURES = 100;

const NAMESPACE_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const POD_RE = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
// report.json's free text (error messages, names) only has to be free of control characters (C0, DEL, C1).
const NO_CONTROL_RE = /^[^\u0000-\u001f\u007f-\u009f]*$/;
const KNOWN_KEYS = new Set<string>(SCANNER_KEYS);

export class ValidationError extends Error {}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ValidationError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

export interface ValidatedScan {
  tree: RuntimeTree;
  containers: number;
  detected: number;
  /** Keys dropped because this reporter does not know them (a newer scanner). */
  unknownKeys: number;
  /**
   * Containers the scanner found outside any pod kubelet knows (namespace ""): the gatherer cannot join them to
   * a pod, so they are counted and left out.
   */
  unnamed: number;
}

/** Checks scan.json: namespace -> pod -> "<scheme>://<64 hex>" -> { known key: bounded printable string }. */
export function validateScan(bytes: Buffer, maxBytes = DEFAULT_MAX_SCAN_BYTES): ValidatedScan {
  if (bytes.length > maxBytes) throw new ValidationError(`scan.json exceeds the cap of ${maxBytes} bytes`);
  return validateTree(parseJson(bytes.toString('utf8'), 'scan.json'));
}

/** The same checks on a parsed tree: what the controller applies again to every ScanResult it merges. */
export function validateTree(doc: unknown): ValidatedScan {
  if (!isObject(doc)) throw new ValidationError('scan.json: the top level must be an object of namespaces');
  const tree: RuntimeTree = {};
  let containers = 0;
  let detected = 0;
  let unknownKeys = 0;
  let unnamed = 0;
  for (const [ns, pods] of Object.entries(doc)) {
    if (ns === '' && isObject(pods)) {
      for (const ids of Object.values(pods)) if (isObject(ids)) unnamed += Object.keys(ids).length;
      continue;
    }
    if (!NAMESPACE_RE.test(ns))
      throw new ValidationError(`scan.json: ${JSON.stringify(ns.slice(0, 80))} is not a namespace name`);
    if (!isObject(pods)) throw new ValidationError(`scan.json: namespace ${ns} must map pod names to objects`);
    for (const [pod, ids] of Object.entries(pods)) {
      if (!POD_RE.test(pod))
        throw new ValidationError(`scan.json: ${JSON.stringify(pod.slice(0, 80))} in ${ns} is not a pod name`);
      if (!isObject(ids)) throw new ValidationError(`scan.json: pod ${ns}/${pod} must map container ids to objects`);
      for (const [id, info] of Object.entries(ids)) {
        if (!CONTAINER_ID_PATTERN.test(id))
          throw new ValidationError(
            `scan.json: ${JSON.stringify(id.slice(0, 100))} in ${ns}/${pod} is not a container id (<scheme>://<64 ` +
              `hex>)`,
          );
        if (!isObject(info)) throw new ValidationError(`scan.json: container ${id} must map to an object`);
        const clean: ContainerInfo = {};
        for (const [k, v] of Object.entries(info)) {
          if (k === RUNTIMES_KEY) {
            const runtimes = validateRuntimes(v, `${ns}/${pod}/${id}`);
            if (runtimes.length) clean.runtimes = runtimes;
            continue;
          }
          if (!KNOWN_KEYS.has(k)) {
            unknownKeys++;
            continue;
          }
          if (typeof v !== 'string') throw new ValidationError(`scan.json: ${ns}/${pod}/${id}: ${k} must be a string`);
          if (v.length > MAX_VALUE_LENGTH)
            throw new ValidationError(
              `scan.json: ${ns}/${pod}/${id}: ${k} is longer than ${MAX_VALUE_LENGTH} characters`,
            );
          if (!VALUE_PATTERN.test(v))
            throw new ValidationError(
              `scan.json: ${ns}/${pod}/${id}: ${k} holds characters other than printable ASCII`,
            );
          if (v !== '') clean[k as ScannerKey] = v;
        }
        const first = clean.runtimes?.[0];
        if (first && (first.name !== clean['runtime-name'] || first.version !== clean['runtime-version']))
          throw new ValidationError(
            `scan.json: ${ns}/${pod}/${id}: the first of runtimes is not runtime-name/runtime-version`,
          );
        ((tree[ns] ??= {})[pod] ??= {})[id] = clean;
        containers++;
        if (clean['runtime-kind'] || clean['runtime-name']) detected++;
      }
    }
  }
  return { tree, containers, detected, unknownKeys, unnamed };
}

/** A container's `runtimes`: at most MAX_RUNTIMES `{name, version?}` of bounded printable strings, in order. */
export function validateRuntimes(value: unknown, where: string): Runtime[] {
  if (!Array.isArray(value)) throw new ValidationError(`scan.json: ${where}: runtimes must be an array`);
  if (value.length > MAX_RUNTIMES) throw new ValidationError(`scan.json: ${where}: more than ${MAX_RUNTIMES} runtimes`);
  return value.map((item, i) => {
    if (!isObject(item)) throw new ValidationError(`scan.json: ${where}: runtimes[${i}] must be an object`);
    const text = (key: 'name' | 'version'): string | undefined => {
      const v = item[key];
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || v.length > MAX_VALUE_LENGTH || !VALUE_PATTERN.test(v))
        throw new ValidationError(
          `scan.json: ${where}: runtimes[${i}].${key} must be a printable string of at most ${MAX_VALUE_LENGTH} ` +
            `characters`,
        );
      return v === '' ? undefined : v;
    };
    const name = text('name');
    if (name === undefined) throw new ValidationError(`scan.json: ${where}: runtimes[${i}] has no name`);
    const version = text('version');
    return version === undefined ? { name } : { name, version };
  });
}

export interface ValidatedReport {
  node: string;
  startedAt: string;
  durationMs: number;
  containersFound: number;
  containersScanned: number;
  containersFailed: number;
  failures: { namespace: string; pod: string; id: string; error: string }[];
}

function count(doc: Record<string, unknown>, key: string): number {
  const v = doc[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw new ValidationError(`report.json: ${key} must be a non-negative integer`);
  return v;
}
function str(doc: Record<string, unknown>, key: string, max = MAX_VALUE_LENGTH): string {
  const v = doc[key];
  if (typeof v !== 'string' || v.length > max || !NO_CONTROL_RE.test(v))
    throw new ValidationError(`report.json: ${key} must be a printable string of at most ${max} characters`);
  return v;
}

/** Checks report.json (version 1), keeping at most MAX_FAILURES failed containers. */
export function validateReport(bytes: Buffer, maxBytes = DEFAULT_MAX_REPORT_BYTES): ValidatedReport {
  if (bytes.length > maxBytes) throw new ValidationError(`report.json exceeds the cap of ${maxBytes} bytes`);
  const doc = parseJson(bytes.toString('utf8'), 'report.json');
  if (!isObject(doc)) throw new ValidationError('report.json: the top level must be an object');
  if (doc.version !== 1)
    throw new ValidationError(`report.json: version ${JSON.stringify(doc.version)} is not supported (expected 1)`);
  const startedAt = str(doc, 'startedAt', 64);
  if (Number.isNaN(Date.parse(startedAt))) throw new ValidationError('report.json: startedAt must be an RFC 3339 time');
  const containers = doc.containers;
  if (!Array.isArray(containers)) throw new ValidationError('report.json: containers must be an array');
  const failures: ValidatedReport['failures'] = [];
  for (const c of containers) {
    if (!isObject(c)) throw new ValidationError('report.json: each container must be an object');
    if (c.status !== 'scanned' && c.status !== 'failed')
      throw new ValidationError(
        `report.json: container status ${JSON.stringify(c.status)} is neither "scanned" nor "failed"`,
      );
    if (c.status === 'failed' && failures.length < MAX_FAILURES)
      failures.push({
        namespace: str(c, 'namespace'),
        pod: str(c, 'pod'),
        id: str(c, 'id'),
        error: typeof c.error === 'string' ? str(c, 'error', 1024) : 'no reason given',
      });
  }
  return {
    node: str(doc, 'node'),
    startedAt: new Date(startedAt).toISOString(),
    durationMs: count(doc, 'durationMs'),
    containersFound: count(doc, 'containersFound'),
    containersScanned: count(doc, 'containersScanned'),
    containersFailed: count(doc, 'containersFailed'),
    failures,
  };
}

/**
 * Turns the two files into the ScanResult status. Any validation problem gives a Failed status with the reason;
 * a report from another node is refused (a pod reporting for the wrong node is a bug or an attack).
 */
export function buildResultStatus(
  node: string,
  scanJson: Buffer | undefined,
  reportJson: Buffer | undefined,
  now: Date,
  limits: { maxScanBytes?: number; maxReportBytes?: number } = {},
): ScanResultStatus {
  const failed = (error: string): ScanResultStatus => ({ phase: 'Failed', reportedAt: now.toISOString(), error });
  try {
    if (scanJson === undefined) return failed('scan.json missing: the node scanner wrote no result');
    const scan = validateScan(scanJson, limits.maxScanBytes);
    const status: ScanResultStatus = {
      phase: 'Reported',
      reportedAt: now.toISOString(),
      containersScanned: scan.containers,
      containersDetected: scan.detected,
      tree: scan.tree,
    };
    if (reportJson !== undefined) {
      const report = validateReport(reportJson, limits.maxReportBytes);
      if (report.node !== node)
        return failed(`report.json is for node ${JSON.stringify(report.node)}, not ${JSON.stringify(node)}`);
      Object.assign(status, {
        startedAt: report.startedAt,
        durationMs: report.durationMs,
        duration: formatDuration(report.durationMs),
        containersFound: report.containersFound,
        containersFailed: report.containersFailed,
        failures: report.failures,
      });
    }
    return status;
  } catch (e) {
    if (e instanceof ValidationError) return failed(e.message);
    throw e;
  }
}
