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

/** Warnings kept by a merge (the rest are only counted): hostile nodes could otherwise report the same ids forever. */
export const MAX_MERGE_WARNINGS = 100;

/**
 * Merges node trees one at a time into one hashed tree, so that a run's trees are read, hashed and dropped one
 * after the other and never held together. Keys (namespace, pod, container id) stay clear: they are the gatherer's
 * join key. A container id seen on two nodes keeps the node whose name sorts first and warns, so the result does not
 * depend on the order the trees are added in.
 */
export class TreeMerger {
  private readonly tree: HashedTree = {};
  private readonly owner = new Map<string, string>();
  private readonly warnings: string[] = [];
  private duplicates = 0;

  add(node: string, nodeTree: RuntimeTree): void {
    for (const [namespace, pods] of Object.entries(nodeTree)) {
      for (const [pod, ids] of Object.entries(pods)) {
        for (const [id, info] of Object.entries(ids)) {
          const key = `${namespace}/${pod}/${id}`;
          const first = this.owner.get(key);
          if (first !== undefined) {
            const [kept, other] = node < first ? [node, first] : [first, node];
            this.duplicates++;
            if (this.warnings.length < MAX_MERGE_WARNINGS)
              this.warnings.push(`container ${key} reported by nodes ${kept} and ${other}; kept ${kept}`);
            if (kept === first) continue;
          }
          this.owner.set(key, node);
          ((this.tree[namespace] ??= {})[pod] ??= {})[id] = hashInfo(info);
        }
      }
    }
  }

  /** The nodes whose containers of one pod are in the merged tree (who reported a pod too large to publish). */
  nodesOf(namespace: string, pod: string): string[] {
    const prefix = `${namespace}/${pod}/`;
    const nodes = new Set<string>();
    for (const [key, node] of this.owner) if (key.startsWith(prefix)) nodes.add(node);
    return [...nodes].sort();
  }

  result(): MergeResult {
    const warnings = [...this.warnings];
    if (this.duplicates > warnings.length)
      warnings.push(`${this.duplicates - warnings.length} more containers reported by more than one node`);
    return { tree: this.tree, containers: this.owner.size, warnings };
  }
}

/** Merges per-node trees into one hashed tree (TreeMerger over a list). */
export function mergeTrees(nodes: NodeTree[]): MergeResult {
  const merger = new TreeMerger();
  for (const { node, tree } of nodes) merger.add(node, tree);
  return merger.result();
}
