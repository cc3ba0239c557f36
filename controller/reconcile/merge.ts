import { LRUCache } from 'lru-cache';
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
 * Memory for the hashed infos a merge shares (see TreeMerger): far more than the distinct infos of a real cluster
 * take (a few hundred bytes each), and bounded whatever the nodes report.
 */
export const SHARED_INFO_CACHE_BYTES = 4 * 1024 * 1024;
/** What one cached info costs besides its key: the hashed object, its 12-character strings, the cache's entry. */
const SHARED_INFO_OVERHEAD = 512;

/** A string that identifies an info by what is published of it (the published values and their order). */
function infoKey(info: ContainerInfo): string {
  const values: (string | undefined)[] = SCANNER_KEYS.map((k) => info[k]);
  for (const r of info.runtimes ?? []) values.push(r.name, r.version);
  return JSON.stringify(values);
}

/**
 * Merges node trees one at a time into one hashed tree, so that a run's trees are read, hashed and dropped one
 * after the other and never held together. Keys (namespace, pod, container id) stay clear: they are the gatherer's
 * join key. A container id seen on two nodes keeps the node whose name sorts first and warns, so the result does not
 * depend on the order the trees are added in.
 *
 * The containers of one image report the same values, so their hashed infos are equal: they share one frozen
 * object, found by the values in a bounded cache. At 5000 nodes that is a few hundred objects instead of 75,000
 * (and as few SHA-256 runs), and the merged tree's memory is mostly its keys. An info the cache has dropped is
 * hashed again: equal, only not shared.
 */
export class TreeMerger {
  private readonly tree: HashedTree = {};
  /** "namespace/pod" -> container id -> the node it was kept from. */
  private readonly owner = new Map<string, Map<string, string>>();
  private readonly shared = new LRUCache<string, HashedInfo>({
    maxSize: SHARED_INFO_CACHE_BYTES,
    sizeCalculation: (_, key) => key.length + SHARED_INFO_OVERHEAD,
  });
  private readonly warnings: string[] = [];
  private duplicates = 0;
  private containers = 0;

  add(node: string, nodeTree: RuntimeTree): void {
    for (const [namespace, pods] of Object.entries(nodeTree)) {
      for (const [pod, ids] of Object.entries(pods)) {
        const podKey = `${namespace}/${pod}`;
        let owners = this.owner.get(podKey);
        for (const [id, info] of Object.entries(ids)) {
          const first = owners?.get(id);
          if (first !== undefined) {
            const [kept, other] = node < first ? [node, first] : [first, node];
            this.duplicates++;
            if (this.warnings.length < MAX_MERGE_WARNINGS)
              this.warnings.push(`container ${podKey}/${id} reported by nodes ${kept} and ${other}; kept ${kept}`);
            if (kept === first) continue;
          } else this.containers++;
          if (!owners) this.owner.set(podKey, (owners = new Map<string, string>()));
          owners.set(id, node);
          ((this.tree[namespace] ??= {})[pod] ??= {})[id] = this.hashed(info);
        }
      }
    }
  }

  private hashed(info: ContainerInfo): HashedInfo {
    const key = infoKey(info);
    let out = this.shared.get(key);
    if (!out) this.shared.set(key, (out = deepFreeze(hashInfo(info))));
    return out;
  }

  /** The nodes whose containers of one pod are in the merged tree (who reported a pod too large to publish). */
  nodesOf(namespace: string, pod: string): string[] {
    return [...new Set(this.owner.get(`${namespace}/${pod}`)?.values())].sort();
  }

  result(): MergeResult {
    const warnings = [...this.warnings];
    if (this.duplicates > warnings.length)
      warnings.push(`${this.duplicates - warnings.length} more containers reported by more than one node`);
    return { tree: this.tree, containers: this.containers, warnings };
  }
}

/** Freezes a hashed info and its runtimes: it is shared by many containers, so a change to one would change all. */
function deepFreeze(info: HashedInfo): HashedInfo {
  for (const r of info.runtimes ?? []) Object.freeze(r);
  if (info.runtimes) Object.freeze(info.runtimes);
  return Object.freeze(info);
}

/** Merges per-node trees into one hashed tree (TreeMerger over a list). */
export function mergeTrees(nodes: NodeTree[]): MergeResult {
  const merger = new TreeMerger();
  for (const { node, tree } of nodes) merger.add(node, tree);
  return merger.result();
}
