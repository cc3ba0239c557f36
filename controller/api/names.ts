import { createHash } from 'node:crypto';

export function runName(scan: string, runNumber: number): string {
  return `${scan}-${runNumber}`;
}
export function daemonSetName(run: string): string {
  return `${run}-scanner`;
}
export function reporterRoleName(run: string): string {
  return `${run}-reporter`;
}

/** ScanResult of one node in one run; node names can be long, so long ones end with a short digest instead. */
export function scanResultName(run: string, node: string): string {
  const plain = `${run}-${node}`;
  if (plain.length <= 253) return plain;
  const digest = createHash('sha256').update(node).digest('hex').slice(0, 10);
  return `${run}-${node.slice(0, 253 - run.length - 12).replace(/[.-]+$/, '')}-${digest}`;
}
