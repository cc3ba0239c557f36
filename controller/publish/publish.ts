import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { V1ConfigMap, V1OwnerReference } from '@kubernetes/client-node';
import type { HashedInfo, HashedTree } from '../api/scan-tree.js';
import indexSchema from '../../docs/result-index.schema.json' with { type: 'json' };

/** Identifies the layout of the published result, so that a consumer can refuse one it does not know. */
export const RESULT_FORMAT = 'containerscanner.io/result/v1';
export const INDEX_KEY = 'index.json';
export const SHARD_KEY = 'result.json.gz';
/**
 * The published layout's limits, declared once in docs/result-index.schema.json (the Go reader's own are checked
 * against it). Compressed bytes per shard: the API server caps ConfigMap data at 1 MiB and etcd caps a request at
 * 1.5 MiB; binaryData travels base64-encoded (4/3), so 768 KiB of gzip stays near 1 MiB on the wire.
 */
export const DEFAULT_MAX_SHARD_BYTES = indexSchema.properties.shards.items.properties.bytes.maximum;
/** Shards one result may have: what a reader takes. */
export const MAX_SHARDS = indexSchema.properties.shards.maxItems;
/** Errors kept in the index (the gatherer copies them into gathers.json; a flood of them is not useful), then one
 * line saying how many more. */
export const MAX_INDEX_ERRORS = indexSchema.properties.errors.maxItems - 1;
/** An error's length before the ellipsis that marks a cut. */
const MAX_ERROR_LENGTH = indexSchema.properties.errors.items.maxLength - 1;

export interface Shard {
  /** Pods in this shard, by namespace; a pod is never split across shards. */
  tree: HashedTree;
  containers: number;
  gzip: Buffer;
}

export interface ResultIndex {
  format: typeof RESULT_FORMAT;
  scan: string;
  run: string;
  completedAt: string;
  containers: number;
  nodes: { targeted: number; reported: number; failed: number };
  /**
   * ConfigMap names, in the same namespace, whose `result.json.gz` hold the tree (disjoint pods), with the size and
   * SHA-256 (hex) of each gzip: a reader checks them, so it never mixes shards of two runs.
   */
  shards: { name: string; containers: number; bytes: number; sha256: string }[];
  /** Ready to copy into the gatherer's `workloads/workload_info` errors. */
  errors: string[];
}

type PodEntry = [namespace: string, pod: string, ids: Record<string, HashedInfo>];

function podEntries(tree: HashedTree): PodEntry[] {
  const entries: PodEntry[] = [];
  for (const ns of Object.keys(tree).sort()) {
    const pods = tree[ns] ?? {};
    for (const pod of Object.keys(pods).sort()) entries.push([ns, pod, pods[pod] ?? {}]);
  }
  return entries;
}

function buildShard(entries: PodEntry[]): Shard {
  const tree: HashedTree = {};
  let containers = 0;
  for (const [ns, pod, ids] of entries) {
    (tree[ns] ??= {})[pod] = ids;
    containers += Object.keys(ids).length;
  }
  return { tree, containers, gzip: gzipSync(JSON.stringify(tree), { level: 9 }) };
}

/** A pod left out of a publication: alone, it compresses above the shard limit, and a pod is never split. */
export interface OmittedPod {
  namespace: string;
  pod: string;
  containers: number;
  /** Its gzip alone. */
  bytes: number;
  /** The nodes that reported it, when known (one pod runs on one node: several point at a node that lies). */
  nodes?: string[];
}

export interface Sharding {
  shards: Shard[];
  /** Pods too large for any shard, in namespace and pod order. */
  omitted: OmittedPod[];
  maxBytes: number;
}

/**
 * Splits the tree into gzip shards of at most maxBytes each. It halves the pod list until each part fits, so the
 * common case (a cluster whose result compresses below the limit) is a single shard. A pod that alone does not fit
 * cannot be published (a pod is never split across shards): it is left out and named, and the rest is sharded.
 * The halving starts at the parts that may fit ({@link certainlyTooBig}), not at the whole tree.
 */
export function shardTree(tree: HashedTree, maxBytes = DEFAULT_MAX_SHARD_BYTES): Sharding {
  const omitted: OmittedPod[] = [];
  const shardAll = (entries: PodEntry[]): Shard[] =>
    halvedWhile(entries, certainlyTooBig(entries, maxBytes)).flatMap(split);
  const split = (entries: PodEntry[]): Shard[] => {
    const shard = buildShard(entries);
    if (shard.gzip.length <= maxBytes) return [shard];
    if (entries.length <= 1) {
      const [namespace, pod] = entries[0] ?? ['', ''];
      omitted.push({ namespace, pod, containers: shard.containers, bytes: shard.gzip.length });
      return [];
    }
    const half = Math.ceil(entries.length / 2);
    return [...split(entries.slice(0, half)), ...split(entries.slice(half))];
  };
  const entries = podEntries(tree);
  const shards = shardAll(entries);
  if (!omitted.length) return { shards, omitted, maxBytes };
  // Sharded again without them: the halving around a pod that did not fit leaves needlessly small shards.
  const left = new Set(omitted.map((p) => `${p.namespace}/${p.pod}`));
  return { shards: shardAll(entries.filter(([ns, pod]) => !left.has(`${ns}/${pod}`))), omitted, maxBytes };
}

/** JSON of a sample this long gives the compression ratio the estimate uses. */
const RATIO_SAMPLE_CHARS = 256 * 1024;

/**
 * Whether a part of the pod list is certainly too big for one shard: its JSON, at the compression ratio of a sample,
 * is estimated at more than twice maxBytes. Halving from the whole tree stringifies and compresses all of it once per
 * level above the shards (at 5000 nodes four times 40 MB of JSON: a third of the publication's time and some MiB of
 * its peak memory, test/sim/publication-cost.ts); the levels certainly too big are skipped, and the shards are the
 * same whenever the estimate is right within a factor of two.
 */
function certainlyTooBig(entries: PodEntry[], maxBytes: number): (from: number, to: number) => boolean {
  if (!Number.isFinite(maxBytes) || entries.length < 2) return () => false;
  // What each pod adds to a shard's JSON (its namespace's key counted for each pod: an overestimate by a few bytes).
  const upTo = [0];
  for (const [ns, pod, ids] of entries)
    upTo.push(upTo.at(-1)! + ns.length + pod.length + JSON.stringify(ids).length + 8);
  let sampled = 1;
  while (sampled < entries.length && upTo[sampled]! < RATIO_SAMPLE_CHARS) sampled++;
  const sample = buildShard(entries.slice(0, sampled));
  const ratio = upTo[sampled]! / Math.max(1, sample.gzip.length);
  return (from, to) => (upTo[to]! - upTo[from]!) / ratio > 2 * maxBytes;
}

/**
 * The parts of the pod list that halving it reaches while every part is longer than one pod and too big
 * (as {@link shardTree}'s halving splits them: the first half takes the odd one).
 */
function halvedWhile(entries: PodEntry[], tooBig: (from: number, to: number) => boolean): PodEntry[][] {
  let parts: [number, number][] = [[0, entries.length]];
  while (parts.every(([from, to]) => to - from > 1 && tooBig(from, to)))
    parts = parts.flatMap(([from, to]): [number, number][] => {
      const half = from + Math.ceil((to - from) / 2);
      return [
        [from, half],
        [half, to],
      ];
    });
  return parts.map(([from, to]) => entries.slice(from, to));
}

/** Why a publication cannot be written (more shards than a reader takes), or undefined when it can. */
export function unpublishable(pub: Publication): string | undefined {
  const n = pub.index.shards.length;
  if (n <= MAX_SHARDS) return undefined;
  return (
    `the result of ${pub.index.containers} containers needs ${n} shards of at most ${pub.maxShardBytes} bytes, ` +
    `more than the ${MAX_SHARDS} a reader of the published result takes`
  );
}

/** The error line of an omitted pod, as the status, the index and the Events carry it. */
export function omittedPodError(p: OmittedPod, maxBytes: number): string {
  const by = p.nodes?.length
    ? `, reported by node${p.nodes.length > 1 ? 's' : ''} ${p.nodes.slice(0, 5).join(', ')}` +
      `${p.nodes.length > 5 ? ` and ${p.nodes.length - 5} more` : ''},`
    : '';
  return (
    `pod ${p.namespace}/${p.pod} left out of the published result: its ${p.containers} container(s)${by} alone ` +
    `compress to ${p.bytes} bytes, above the shard limit of ${maxBytes} bytes`
  );
}

export function indexName(runName: string): string {
  return `${runName}-result`;
}
export function shardName(runName: string, i: number): string {
  return `${runName}-result-${i}`;
}

/**
 * The stable address of a scan's latest completed result: a ConfigMap whose name never changes from run to run,
 * holding a copy of that run's index (which names the run's immutable shards). It is written when the run
 * completes, after its shards and index, so it only ever points at a whole result. Run names are `<scan>-<n>`
 * and everything of a run ends in `-result`, `-result-<i>`, `-scanner` or `-reporter`, so `<scan>-latest` cannot
 * collide with another scan's objects.
 */
export function latestName(scan: string): string {
  return `${scan}-latest`;
}

/**
 * The pointer ConfigMap from the run's index ConfigMap: the same index, its errors completed with those that came
 * after publishing (teardown), capped like the index's.
 */
export function buildLatest(
  runIndex: V1ConfigMap,
  runErrors: string[],
  metadata: V1ConfigMap['metadata'],
): V1ConfigMap {
  const raw = runIndex.data?.[INDEX_KEY];
  if (raw === undefined) throw new Error(`ConfigMap ${runIndex.metadata?.name} has no ${INDEX_KEY}`);
  const index = JSON.parse(raw) as ResultIndex;
  const known = new Set(index.errors);
  const later = runErrors
    .filter((e) => !known.has(e) && !/^… and \d+ more errors/.test(e))
    .map((e) => (e.length > MAX_ERROR_LENGTH ? `${e.slice(0, MAX_ERROR_LENGTH)}…` : e));
  const errors = [...index.errors, ...later];
  if (errors.length > MAX_INDEX_ERRORS + 1)
    errors.splice(MAX_INDEX_ERRORS, errors.length, `${errors.length - MAX_INDEX_ERRORS} more errors left out`);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata,
    data: { [INDEX_KEY]: JSON.stringify({ ...index, errors }, null, 1) },
  };
}

export interface PublicationInput {
  namespace: string;
  scan: string;
  run: string;
  completedAt: Date;
  tree: HashedTree;
  nodes: ResultIndex['nodes'];
  errors: string[];
  labels: Record<string, string>;
  ownerReferences?: V1OwnerReference[];
  maxShardBytes?: number;
  /** Who reported a pod (named in the error of a pod left out). */
  nodesOf?: (namespace: string, pod: string) => string[];
}

export interface Publication {
  index: ResultIndex;
  configMaps: V1ConfigMap[];
  /** Pods left out, each alone above the shard limit (their errors are in the index). */
  omitted: OmittedPod[];
  maxShardBytes: number;
}

/**
 * Builds the ConfigMaps of one run: shards first, the index last (write them in that order). Pods too large to
 * publish are left out; their errors follow the run's in the index (and in `omitted`, for the caller's status).
 */
export function buildPublication(input: PublicationInput): Publication {
  const { shards, omitted, maxBytes } = shardTree(input.tree, input.maxShardBytes);
  if (input.nodesOf) for (const p of omitted) p.nodes = input.nodesOf(p.namespace, p.pod);
  const all = [...input.errors, ...omitted.map((p) => omittedPodError(p, maxBytes))];
  const errors = all
    .slice(0, MAX_INDEX_ERRORS)
    .map((e) => (e.length > MAX_ERROR_LENGTH ? `${e.slice(0, MAX_ERROR_LENGTH)}…` : e));
  if (all.length > MAX_INDEX_ERRORS) errors.push(`${all.length - MAX_INDEX_ERRORS} more errors left out`);
  const meta = (name: string) => ({
    name,
    namespace: input.namespace,
    labels: { ...input.labels },
    ...(input.ownerReferences ? { ownerReferences: input.ownerReferences } : {}),
  });
  const configMaps: V1ConfigMap[] = shards.map((s, i) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(shardName(input.run, i)),
    binaryData: { [SHARD_KEY]: s.gzip.toString('base64') },
  }));
  const index: ResultIndex = {
    format: RESULT_FORMAT,
    scan: input.scan,
    run: input.run,
    completedAt: input.completedAt.toISOString(),
    containers: shards.reduce((n, s) => n + s.containers, 0),
    nodes: input.nodes,
    shards: shards.map((s, i) => ({
      name: shardName(input.run, i),
      containers: s.containers,
      bytes: s.gzip.length,
      sha256: createHash('sha256').update(s.gzip).digest('hex'),
    })),
    errors,
  };
  configMaps.push({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(indexName(input.run)),
    data: { [INDEX_KEY]: JSON.stringify(index, null, 1) },
  });
  return { index, configMaps, omitted, maxShardBytes: maxBytes };
}

/** Reads a published result back (what a consumer does): the index, then every shard it names. */
export function readPublication(index: V1ConfigMap, shards: V1ConfigMap[]): { index: ResultIndex; tree: HashedTree } {
  const raw = index.data?.[INDEX_KEY];
  if (raw === undefined) throw new Error(`ConfigMap ${index.metadata?.name} has no ${INDEX_KEY}`);
  const parsed = JSON.parse(raw) as ResultIndex;
  if (parsed.format !== RESULT_FORMAT) throw new Error(`unknown result format ${String(parsed.format)}`);
  const byName = new Map(shards.map((s) => [s.metadata?.name, s]));
  const tree: HashedTree = {};
  for (const { name, sha256 } of parsed.shards) {
    const b64 = byName.get(name)?.binaryData?.[SHARD_KEY];
    if (b64 === undefined) throw new Error(`shard ConfigMap ${name} missing or has no ${SHARD_KEY}`);
    const gzip = Buffer.from(b64, 'base64');
    if (createHash('sha256').update(gzip).digest('hex') !== sha256)
      throw new Error(`shard ConfigMap ${name} does not match the index (another run's?)`);
    const part = JSON.parse(gunzipSync(gzip).toString('utf8')) as HashedTree;
    for (const [ns, pods] of Object.entries(part)) Object.assign((tree[ns] ??= {}), pods);
  }
  return { index: parsed, tree };
}

/** Bytes the API server counts against its ConfigMap limit (data values plus decoded binaryData). */
export function configMapPayloadBytes(cm: V1ConfigMap): number {
  let n = 0;
  for (const [k, v] of Object.entries(cm.data ?? {})) n += k.length + Buffer.byteLength(v, 'utf8');
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) n += k.length + Buffer.from(v, 'base64').length;
  return n;
}
