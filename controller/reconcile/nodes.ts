import type { V1Node, V1Taint, V1Toleration } from '@kubernetes/client-node';

/**
 * Tolerations the DaemonSet controller adds to every daemon pod, so nodes with these taints still get a scanner
 * (and must be waited for).
 */
export const DAEMONSET_TOLERATIONS: V1Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

export function tolerates(t: V1Toleration, taint: V1Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === 'Exists') return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
}

/** Whether the scanner DaemonSet will place a pod on the node (selector and NoSchedule/NoExecute taints). */
export function isTargeted(
  node: V1Node,
  nodeSelector: Record<string, string> = {},
  tolerations: V1Toleration[] = [],
): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(nodeSelector)) if (labels[k] !== v) return false;
  const all = [...tolerations, ...DAEMONSET_TOLERATIONS];
  for (const taint of node.spec?.taints ?? []) {
    if (taint.effect === 'PreferNoSchedule') continue;
    if (!all.some((t) => tolerates(t, taint))) return false;
  }
  return true;
}
