/**
 * The controller's second look at a ScanResult before anything of it is counted or merged. A ScanResult is written
 * by a reporter on a node (or by anyone with write access to ScanResults), so it is as untrusted as the node: only
 * the object the controller created for that node and run (name and UID recorded in the ContainerScan status) is
 * considered, its tree is held to the same rules as the reporter's (reporter/validate-scan.ts validateTree), and the
 * counts come
 * from the tree, never from the counters written beside it.
 */
import type { FailureReason, ScanResult } from '../api/resources.js';
import { validateTree, ValidationError } from '../reporter/validate-scan.js';
import type { RuntimeTree } from '../api/scan-tree.js';

/** Longest reporter error carried into the ContainerScan status and Events. */
export const MAX_REPORTED_ERROR = 1024;

/** The ScanResult the controller expects for one node of a run. */
export interface ExpectedResult {
  name: string;
  uid: string | undefined;
  run: string;
  node: string;
}

export type Verdict =
  /** Not the object the controller created (unknown UID, or a spec that names another run or node). */
  | { kind: 'foreign'; why: string }
  /** The reporter has not written yet (or wrote only Pending). */
  | { kind: 'pending' }
  | { kind: 'reported'; tree: RuntimeTree; containers: number; detected: number }
  | { kind: 'failed'; reason: FailureReason; error: string };

/** Control characters out, length capped: the text goes into statuses, Events and logs. */
export function cleanText(text: string, max = MAX_REPORTED_ERROR): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** Whether this is the object the controller created for the node and run. */
export function identify(sr: ScanResult, expected: ExpectedResult): string | undefined {
  if (sr.metadata.name !== expected.name)
    return `ScanResult ${sr.metadata.name} is not the one made for node ${expected.node}`;
  if (!expected.uid || sr.metadata.uid !== expected.uid)
    return (
      `ScanResult ${sr.metadata.name} (uid ${sr.metadata.uid}) was not created by the controller for run ` +
      `${expected.run}`
    );
  if (sr.spec?.run !== expected.run || sr.spec?.node !== expected.node)
    return `ScanResult ${sr.metadata.name} names run ${String(sr.spec?.run)} and node ${String(sr.spec?.node)}`;
  return undefined;
}

/** Re-validates one ScanResult: identity first, then the status the reporter wrote. */
export function judgeScanResult(sr: ScanResult, expected: ExpectedResult): Verdict {
  const foreign = identify(sr, expected);
  if (foreign) return { kind: 'foreign', why: foreign };
  const st = sr.status;
  if (st?.phase === 'Failed')
    return {
      kind: 'failed',
      reason: 'NodeFailed',
      error: cleanText(typeof st.error === 'string' && st.error ? st.error : 'reporter gave no reason'),
    };
  if (st?.phase !== 'Reported') return { kind: 'pending' };
  try {
    const v = validateTree(st.tree ?? {});
    return { kind: 'reported', tree: v.tree, containers: v.containers, detected: v.detected };
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return {
      kind: 'failed',
      reason: 'ReportRejected',
      error: `ScanResult ${sr.metadata.name} refused by the controller: ${cleanText(e.message)}`,
    };
  }
}
