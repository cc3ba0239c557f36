import { hashValue } from '../publish/hash.js';
import {
  PUBLISHED_FIELDS,
  SCANNER_KEYS,
  type ContainerInfo,
  type HashedInfo,
  type HashedTree,
  type Runtime,
  type RuntimeTree,
} from '../api/scan-tree.js';

/** One node's contribution to a run. */
export interface NodeTree {
  node: string;
  tree: RuntimeTree;
}

export interface MergeResult {
  tree: HashedTree;
  containers: number;
  /** Human-readable problems found while merging (e.g. one container reported by two nodes). */
  warnings: string[];
}

/**
 * Hashes one container's values under the published field names; empty values are left out. Both shapes of the
 * consumer: `runtimes` (today's gatherer) and `name`/`version` (the first runtime). A node tree from a scanner
 * without `runtimes` gets the list from runtime-name/runtime-version.
 */
export function hashInfo(info: ContainerInfo): HashedInfo {
  const out: HashedInfo = {};
  for (const key of SCANNER_KEYS) {
    const value = info[key];
    if (typeof value === 'string' && value !== '') out[PUBLISHED_FIELDS[key]] = hashValue(value);
  }
  const name = info['runtime-name'];
  const runtimes: Runtime[] = info.runtimes?.length
    ? info.runtimes
    : name
      ? [{ name, ...(info['runtime-version'] ? { version: info['runtime-version'] } : {}) }]
      : [];
  const hashed = runtimes
    .filter((r) => r.name !== '')
    .map((r) => (r.version ? { name: hashValue(r.name), version: hashValue(r.version) } : { name: hashValue(r.name) }));
  if (hashed.length) out.runtimes = hashed;
  return out;
}

/**
 * Merges per-node trees into one hashed tree. Keys (namespace, pod, container id) stay clear: they are the
 * gatherer's join key. A container id seen on two nodes keeps the first (nodes sorted by name) and warns, so the
 * result does not depend on the order the reports arrived in.
 */
export function mergeTrees(nodes: NodeTree[]): MergeResult {
  const tree: HashedTree = {};
  const warnings: string[] = [];
  const owner = new Map<string, string>();
  let containers = 0;
  const sorted = [...nodes].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  for (const { node, tree: nodeTree } of sorted) {
    for (const [namespace, pods] of Object.entries(nodeTree)) {
      for (const [pod, ids] of Object.entries(pods)) {
        for (const [id, info] of Object.entries(ids)) {
          const key = `${namespace}/${pod}/${id}`;
          const first = owner.get(key);
          if (first !== undefined) {
            warnings.push(`container ${key} reported by nodes ${first} and ${node}; kept ${first}`);
            continue;
          }
          owner.set(key, node);
          const nsTree = (tree[namespace] ??= {});
          const podTree = (nsTree[pod] ??= {});
          podTree[id] = hashInfo(info);
          containers++;
        }
      }
    }
  }
  return { tree, containers, warnings };
}
