/**
 * Deleting what runs leave behind, by kind. One table says how to list each kind the controller makes (by label)
 * and how to delete one; one routine lists, filters and deletes. The reconciler's pruning (leftovers of finished
 * runs, history beyond historyLimit, the start-up sweep) only chooses which kinds, which selectors and which labels
 * doom an object.
 */
import { GROUP, RESULTS, VERSION, type ScanResult } from '../api/resources.js';
import { deleteIfPresent, type Clients } from '../kube/clients.js';
import { log } from '../util/log.js';

export type Labels = Record<string, string> | undefined;

/** What pruning needs of one listed object. */
interface Listed {
  name: string;
  labels: Labels;
  /** Already being deleted: left to finish. */
  terminating: boolean;
}

/** One kind a run creates: how to list it by label selector and delete one by name. */
export interface PrunableKind {
  kind: string;
  /** Deletions of this kind are logged (the ones an operator watches for); the rest go silently. */
  logged: boolean;
  list(c: Clients, namespace: string, labelSelector: string): Promise<Listed[]>;
  remove(c: Clients, namespace: string, name: string): Promise<unknown>;
}

type Meta = { metadata?: { name?: string; labels?: Record<string, string>; deletionTimestamp?: unknown } };
const listed = (items: Meta[]): Listed[] =>
  items.flatMap((o) =>
    o.metadata?.name
      ? [{ name: o.metadata.name, labels: o.metadata.labels, terminating: !!o.metadata.deletionTimestamp }]
      : [],
  );

/** The kinds the controller makes per run, each listed and deleted the way the rest of the controller does. */
export const PRUNABLE = {
  daemonSet: {
    kind: 'DaemonSet',
    logged: true,
    list: async (c, namespace, labelSelector) =>
      listed((await c.apps.listNamespacedDaemonSet({ namespace, labelSelector })).items),
    remove: (c, namespace, name) =>
      c.apps.deleteNamespacedDaemonSet({ namespace, name, propagationPolicy: 'Background' }),
  },
  pod: {
    kind: 'Pod',
    logged: false,
    list: async (c, namespace, labelSelector) =>
      listed((await c.core.listNamespacedPod({ namespace, labelSelector })).items),
    remove: (c, namespace, name) => c.core.deleteNamespacedPod({ namespace, name }),
  },
  roleBinding: {
    kind: 'RoleBinding',
    logged: false,
    list: async (c, namespace, labelSelector) =>
      listed((await c.rbac.listNamespacedRoleBinding({ namespace, labelSelector })).items),
    remove: (c, namespace, name) => c.rbac.deleteNamespacedRoleBinding({ namespace, name }),
  },
  role: {
    kind: 'Role',
    logged: false,
    list: async (c, namespace, labelSelector) =>
      listed((await c.rbac.listNamespacedRole({ namespace, labelSelector })).items),
    remove: (c, namespace, name) => c.rbac.deleteNamespacedRole({ namespace, name }),
  },
  configMap: {
    kind: 'ConfigMap',
    logged: false,
    list: async (c, namespace, labelSelector) =>
      listed((await c.core.listNamespacedConfigMap({ namespace, labelSelector })).items),
    remove: (c, namespace, name) => c.core.deleteNamespacedConfigMap({ namespace, name }),
  },
  scanResult: {
    kind: 'ScanResult',
    logged: false,
    list: async (c, namespace, labelSelector) => {
      const list = (await c.custom.listNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: RESULTS,
        labelSelector,
      })) as { items: ScanResult[] };
      return listed(list.items);
    },
    remove: (c, namespace, name) =>
      c.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: RESULTS, name }),
  },
} satisfies Record<string, PrunableKind>;

/** One row of a pruning: a kind and the label selector its candidates are listed with. */
export interface PruneStep {
  kind: PrunableKind;
  selector: string;
}

/**
 * Lists each step's kind in `namespace` and deletes, in step order, every object whose labels `doomed` picks.
 * Objects already being deleted are left to finish; one gone in the meantime is no error.
 */
export async function prune(
  c: Clients,
  namespace: string,
  steps: PruneStep[],
  doomed: (labels: Labels) => boolean,
  why: string,
): Promise<void> {
  for (const { kind, selector } of steps) {
    for (const o of await kind.list(c, namespace, selector)) {
      if (o.terminating || !doomed(o.labels)) continue;
      if (kind.logged) log.info(`${why}: deleting ${kind.kind}`, { namespace, name: o.name, labels: o.labels });
      await deleteIfPresent(() => kind.remove(c, namespace, o.name));
    }
  }
}
