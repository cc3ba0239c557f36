/** What a scanner pod says about its node: which node it is for, whether it is ready, and what is wrong with it. */
import type { V1Pod } from '@kubernetes/client-node';
import { LABEL_RUN } from '../api/resources.js';

export interface PodSummary {
  run: string;
  /** The node the DaemonSet made it for (bound, or pinned by node affinity). */
  node: string | undefined;
  ready: boolean;
  /** Why it is not ready, in a few words (podProblem). */
  problem: string;
}

/** The scanner pods of a run, as last seen; undefined when the view cannot tell (not listed yet, or stale). */
export interface ScannerPodView {
  ofRun(run: string): PodSummary[] | undefined;
}

export function summarize(p: V1Pod): PodSummary {
  return {
    run: p.metadata?.labels?.[LABEL_RUN] ?? '',
    node: nodeOf(p),
    ready: isReady(p),
    problem: podProblem(p),
  };
}

/** The node a DaemonSet pod is for: bound, or pinned by the DaemonSet controller's node affinity. */
export function nodeOf(p: V1Pod): string | undefined {
  if (p.spec?.nodeName) return p.spec.nodeName;
  for (const term of p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
    ?.nodeSelectorTerms ?? [])
    for (const f of term.matchFields ?? []) if (f.key === 'metadata.name' && f.values?.length === 1) return f.values[0];
  return undefined;
}

/** A short reason why a scanner pod is not ready, from what kubelet and the scheduler recorded. */
export function podProblem(p: V1Pod): string {
  const clip = (s: string | undefined) => (s ?? '').replace(/\s+/g, ' ').trim().slice(0, 300);
  for (const cs of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) {
    const term = cs.state?.terminated ?? cs.lastState?.terminated;
    if (term && term.exitCode !== 0)
      return (
        `${cs.name} exited with code ` +
        `${term.exitCode}${term.reason ? ` (${term.reason})` : ''}${term.message ? `: ${clip(term.message)}` : ''}`
      );
    const wait = cs.state?.waiting;
    if (wait?.reason && wait.reason !== 'PodInitializing')
      return `${cs.name} waiting: ${wait.reason}${wait.message ? `: ${clip(wait.message)}` : ''}`;
  }
  if (!p.spec?.nodeName) {
    const sched = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    return `scanner pod not scheduled${sched?.message ? `: ${clip(sched.message)}` : ''}`;
  }
  return `scanner pod ${p.status?.phase ?? 'Pending'}`;
}

export function isReady(p: V1Pod): boolean {
  return (
    !p.metadata?.deletionTimestamp &&
    p.status?.phase === 'Running' &&
    (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}
