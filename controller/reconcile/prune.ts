/**
 * Deleting what runs leave behind, by kind. One table says how to list each kind the controller makes (by label)
 * and how to delete one; one routine lists, filters and deletes. The reconciler's pruning (leftovers of finished
 * runs, history beyond historyLimit, the start-up sweep) only chooses which kinds, which selectors and which labels
 * doom an object.
 */
import { GROUP, RESULTS, VERSION, type ScanResult } from '../api/resources.js';
import { deleteIfPresent, type Clients } from '../kube/clients.js';
import { METADATA_PAGE, metadataList, paged, type Page } from '../kube/metadata.js';
import { log } from '../util/log.js';
import { inParallel } from '../util/parallel.js';

export type Labels = Record<string, string> | undefined;

/** What pruning needs of one listed object. */
interface Listed {
  name: string;
  labels: Labels;
  /** Already being deleted: left to finish. */
  terminating: boolean;
}

/**
 * One kind a run creates: how to list it by label selector (metadata only: a listing for pruning never loads
 * result shards or trees) and delete one by name.
 */
export interface PrunableKind {
  kind: string;
  /** Deletions of this kind are logged (the ones an operator watches for); the rest go silently. */
  logged: boolean;
  list(c: Clients, namespace: string, labelSelector: string, cont?: string): Promise<Page<Meta>>;
  remove(c: Clients, namespace: string, name: string): Promise<unknown>;
}

type Meta = { metadata?: { name?: string; labels?: Record<string, string>; deletionTimestamp?: unknown } };
/** The list parameters of one page of a metadata listing. */
const page = (namespace: string, labelSelector: string, cont: string | undefined) => ({
  namespace,
  labelSelector,
  limit: METADATA_PAGE,
  ...(cont ? { _continue: cont } : {}),
});
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
    list: (c, namespace, labelSelector, cont) =>
      c.apps.listNamespacedDaemonSet(page(namespace, labelSelector, cont), metadataList),
    remove: (c, namespace, name) =>
      c.apps.deleteNamespacedDaemonSet({ namespace, name, propagationPolicy: 'Background' }),
  },
  pod: {
    kind: 'Pod',
    logged: false,
    list: (c, namespace, labelSelector, cont) =>
      c.core.listNamespacedPod(page(namespace, labelSelector, cont), metadataList),
    remove: (c, namespace, name) => c.core.deleteNamespacedPod({ namespace, name }),
  },
  roleBinding: {
    kind: 'RoleBinding',
    logged: false,
    list: (c, namespace, labelSelector, cont) =>
      c.rbac.listNamespacedRoleBinding(page(namespace, labelSelector, cont), metadataList),
    remove: (c, namespace, name) => c.rbac.deleteNamespacedRoleBinding({ namespace, name }),
  },
  role: {
    kind: 'Role',
    logged: false,
    list: (c, namespace, labelSelector, cont) =>
      c.rbac.listNamespacedRole(page(namespace, labelSelector, cont), metadataList),
    remove: (c, namespace, name) => c.rbac.deleteNamespacedRole({ namespace, name }),
  },
  configMap: {
    kind: 'ConfigMap',
    logged: false,
    list: (c, namespace, labelSelector, cont) =>
      c.core.listNamespacedConfigMap(page(namespace, labelSelector, cont), metadataList),
    remove: (c, namespace, name) => c.core.deleteNamespacedConfigMap({ namespace, name }),
  },
  scanResult: {
    kind: 'ScanResult',
    logged: false,
    list: async (c, namespace, labelSelector, cont) =>
      (await c.custom.listNamespacedCustomObject(
        { group: GROUP, version: VERSION, plural: RESULTS, ...page(namespace, labelSelector, cont) },
        metadataList,
      )) as Page<ScanResult>,
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
 * Every object of a kind in `namespace` that `selector` picks, listed whole first (metadata is small, a page at a
 * time): deleting while paging would shift the pages.
 */
export async function listAll(c: Clients, namespace: string, kind: PrunableKind, selector: string): Promise<Listed[]> {
  const all: Listed[] = [];
  for await (const items of paged((cont) => kind.list(c, namespace, selector, cont))) all.push(...listed(items));
  return all;
}

/** Objects deleted at once within a step: a history of one ScanResult per node, 5000 of them, is not deleted one
 *  round trip at a time. */
export const DELETE_CONCURRENCY = 16;

/**
 * Lists each step's kind in `namespace` and deletes, in step order, every object whose labels `doomed` picks
 * (within a step, DELETE_CONCURRENCY at once). Objects already being deleted are left to finish; one gone in the
 * meantime is no error.
 */
export async function prune(
  c: Clients,
  namespace: string,
  steps: PruneStep[],
  doomed: (labels: Labels) => boolean,
  why: string,
): Promise<void> {
  for (const { kind, selector } of steps) {
    const objects = (await listAll(c, namespace, kind, selector)).filter((o) => !o.terminating && doomed(o.labels));
    await inParallel(objects, DELETE_CONCURRENCY, async (o) => {
      if (kind.logged) log.info(`${why}: deleting ${kind.kind}`, { namespace, name: o.name, labels: o.labels });
      await deleteIfPresent(() => kind.remove(c, namespace, o.name));
    });
  }
}
