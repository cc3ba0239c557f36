import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { TreeMerger, mergeTrees } from '../../controller/reconcile/merge.js';
import {
  DEFAULT_MAX_SHARD_BYTES,
  INDEX_KEY,
  MAX_SHARDS,
  RESULT_FORMAT,
  buildPublication,
  configMapPayloadBytes,
  readPublication,
  buildLatest,
  latestName,
  shardTree,
  unpublishable,
} from '../../controller/publish/publish.js';
import type { ContainerInfo, HashedTree, RuntimeTree } from '../../controller/api/scan-tree.js';

/** ConfigMap data limit enforced by the API server (data + binaryData). */
const CONFIGMAP_LIMIT = 1024 * 1024;
/** etcd's default request limit: the whole serialized object (binaryData base64) must stay below it. */
const ETCD_REQUEST_LIMIT = 1.5 * 1024 * 1024;

const STACKS: ContainerInfo[] = [
  {
    'os-release-id': 'rhel',
    'os-release-version-id': '8.10',
    'runtime-kind': 'Java',
    'runtime-kind-version': '21.0.6',
    'runtime-kind-implementer': 'Red Hat, Inc.',
    'runtime-name': 'Quarkus',
    'runtime-version': '3.15.1',
  },
  {
    'os-release-id': 'ubuntu',
    'os-release-version-id': '24.04',
    'runtime-kind': 'Java',
    'runtime-kind-version': '21.0.5',
    'runtime-kind-implementer': 'Eclipse Adoptium',
    'runtime-name': 'Apache Tomcat',
    'runtime-version': '11.0.1',
  },
  {
    'os-release-id': 'debian',
    'os-release-version-id': '12',
    'runtime-kind': 'Node.js',
    'runtime-kind-version': 'v22.6.0',
  },
  { 'runtime-kind': 'Golang', 'runtime-kind-version': 'go1.22.6' },
  { 'os-release-id': 'alpine', 'os-release-version-id': '3.20.3' },
];

/** The seed's scale: 8000 pods, 3 containers each, real-looking names and random 64-hex ids. */
function bigTree(pods: number, perPod: number, nodes: number): { node: string; tree: RuntimeTree }[] {
  const out = Array.from({ length: nodes }, (_, i): { node: string; tree: RuntimeTree } => ({
    node: `worker-${i}`,
    tree: {},
  }));
  for (let p = 0; p < pods; p++) {
    const ns = `team-${p % 400}-production`;
    const replicaSet = randomBytes(5).toString('hex').slice(0, 10);
    const pod = `service-${p}-deployment-${replicaSet}-${randomBytes(3).toString('hex').slice(0, 5)}`;
    const target = out[p % nodes]!.tree;
    const ids: Record<string, ContainerInfo> = {};
    for (let c = 0; c < perPod; c++)
      ids[`cri-o://${randomBytes(32).toString('hex')}`] = STACKS[(p + c) % STACKS.length]!;
    (target[ns] ??= {})[pod] = ids;
  }
  return out;
}

/** What the reconciler hands buildPublication for one run of the scan `daily`, from `nodes` reporting nodes. */
function runInput(run: string, tree: HashedTree, nodes: number) {
  return {
    namespace: 'scans',
    scan: 'daily',
    run,
    completedAt: new Date('2026-11-23T12:00:00Z'),
    tree,
    nodes: { targeted: nodes, reported: nodes, failed: 0 },
    errors: [] as string[],
    labels: {},
  };
}

describe('publication', () => {
  it('fits the seed scale (8000 pods × 3 containers) within the API limits and reads back identically', function () {
    this.timeout(60000);
    const merged = mergeTrees(bigTree(8000, 3, 20));
    expect(merged.containers).to.equal(24000);
    const raw = Buffer.byteLength(JSON.stringify(merged.tree));
    const pub = buildPublication({
      namespace: 'scans',
      scan: 'daily',
      run: 'daily-1',
      completedAt: new Date('2026-11-23T12:00:00Z'),
      tree: merged.tree,
      nodes: { targeted: 20, reported: 20, failed: 0 },
      errors: [],
      labels: { 'containerscanner.io/run': 'daily-1' },
    });
    for (const cm of pub.configMaps) {
      expect(configMapPayloadBytes(cm), cm.metadata!.name).to.be.at.most(CONFIGMAP_LIMIT);
      expect(Buffer.byteLength(JSON.stringify(cm)), cm.metadata!.name).to.be.below(ETCD_REQUEST_LIMIT);
    }
    expect(pub.index.containers).to.equal(24000);
    expect(pub.index.format).to.equal(RESULT_FORMAT);
    // The raw tree alone would not fit one ConfigMap: this is what compression and sharding are for.
    expect(raw).to.be.above(CONFIGMAP_LIMIT);
    const index = pub.configMaps.at(-1)!;
    expect(index.metadata!.name).to.equal('daily-1-result');
    const back = readPublication(index, pub.configMaps.slice(0, -1));
    expect(back.tree).to.deep.equal(merged.tree);
  });

  it('points the stable <scan>-latest at a run: the same index, with the errors that came after publishing', () => {
    const merged = mergeTrees(bigTree(3, 1, 1));
    const input = runInput('daily-2', merged.tree, 1);
    const pub = buildPublication({ ...input, errors: ['node a: x'] });
    const teardown = 'scanner DaemonSet not deleted within the teardown timeout of 1m; its leftovers were pruned';
    const latest = buildLatest(
      pub.configMaps.at(-1)!,
      ['node a: x', teardown, '… and 3 more errors (see the published index)'],
      { name: latestName('daily') },
    );
    expect(latest.metadata?.name).to.equal('daily-latest');
    const back = readPublication(latest, pub.configMaps);
    expect(back.index).to.deep.equal({ ...pub.index, errors: ['node a: x', teardown] });
    expect(back.tree).to.deep.equal(merged.tree);
    // A shard of another run under the same name is refused, never mixed in.
    const other = buildPublication({ ...input, tree: mergeTrees(bigTree(4, 1, 1)).tree, errors: [] });
    expect(() => readPublication(latest, other.configMaps)).to.throw(/does not match the index/);
  });

  it("refuses to publish more shards than a reader takes (the schema's shards.maxItems), and says why", () => {
    const merged = mergeTrees(bigTree(400, 3, 4));
    const input = runInput('daily-3', merged.tree, 4);
    // Shards so small that one holds a pod or two: many more of them than a reader takes.
    const tooMany = buildPublication({ ...input, maxShardBytes: 1024 });
    expect(tooMany.index.shards.length).to.be.above(MAX_SHARDS);
    expect(unpublishable(tooMany)).to.equal(
      `the result of 1200 containers needs ${tooMany.index.shards.length} shards of at most 1024 bytes, ` +
        `more than the ${MAX_SHARDS} a reader of the published result takes`,
    );
    const fits = buildPublication(input);
    expect(fits.index.shards.length).to.be.at.most(MAX_SHARDS);
    expect(unpublishable(fits)).to.equal(undefined);
  });

  it('splits into several shards when the limit requires it, never splitting a pod', () => {
    const merged = mergeTrees(bigTree(2000, 3, 4));
    const { shards, omitted } = shardTree(merged.tree, 64 * 1024);
    expect(omitted).to.deep.equal([]);
    expect(shards.length).to.be.greaterThan(1);
    const seen = new Set<string>();
    let total = 0;
    for (const s of shards) {
      expect(s.gzip.length).to.be.at.most(64 * 1024);
      total += s.containers;
      for (const [ns, pods] of Object.entries(s.tree))
        for (const pod of Object.keys(pods)) {
          expect(seen.has(`${ns}/${pod}`)).to.equal(false);
          seen.add(`${ns}/${pod}`);
        }
    }
    expect(total).to.equal(6000);
    expect(seen.size).to.equal(2000);
  });

  it('starts halving where the parts may fit, and ends with the shards halving the whole tree gives', () => {
    // Halving from the whole tree, part by part, as the publication did before it skipped the levels that are
    // certainly too big: the same shards, byte for byte, at several limits (one, a few and many shards; one pod
    // that fits nowhere).
    const halving = (tree: HashedTree, maxBytes: number) => {
      const pods = Object.keys(tree)
        .sort()
        .flatMap((ns) =>
          Object.keys(tree[ns]!)
            .sort()
            .map((pod) => [ns, pod] as const),
        );
      const shards: Buffer[] = [];
      const split = (part: (readonly [string, string])[]): void => {
        const subtree: HashedTree = {};
        for (const [ns, pod] of part) (subtree[ns] ??= {})[pod] = tree[ns]![pod]!;
        const gzip = shardTree(subtree, Infinity).shards[0]!.gzip;
        if (gzip.length <= maxBytes) shards.push(gzip);
        else if (part.length > 1) {
          const half = Math.ceil(part.length / 2);
          split(part.slice(0, half));
          split(part.slice(half));
        }
      };
      split(pods);
      return shards;
    };
    const merged = mergeTrees(bigTree(2000, 3, 4));
    for (const maxBytes of [1e9, 256 * 1024, 64 * 1024, 8 * 1024]) {
      const got = shardTree(merged.tree, maxBytes).shards.map((s) => s.gzip);
      expect(got, `limit ${maxBytes}`).to.deep.equal(halving(merged.tree, maxBytes));
      expect(got.length, `limit ${maxBytes}`).to.be.at.least(maxBytes === 1e9 ? 1 : 2);
    }
  });

  it('produces one shard for a small cluster and an empty tree for no data', () => {
    expect(shardTree({}, DEFAULT_MAX_SHARD_BYTES).shards).to.have.length(1);
    const pub = buildPublication({
      namespace: 'n',
      scan: 's',
      run: 's-2',
      completedAt: new Date(0),
      tree: {},
      labels: {},
      nodes: { targeted: 1, reported: 0, failed: 1 },
      errors: ['node w1: scanner pod not ready within 2m0s'],
    });
    expect(pub.configMaps.map((c) => c.metadata!.name)).to.deep.equal(['s-2-result-0', 's-2-result']);
    const index = JSON.parse(pub.configMaps[1]!.data![INDEX_KEY]!) as { errors: string[] };
    expect(index.errors).to.deep.equal(['node w1: scanner pod not ready within 2m0s']);
    expect(readPublication(pub.configMaps[1]!, pub.configMaps).tree).to.deep.equal({});
  });

  it('caps the error list in the index', () => {
    const errors = Array.from({ length: 2000 }, (_, i) => `node n${i}: failed`);
    const pub = buildPublication({
      namespace: 'n',
      scan: 's',
      run: 's-1',
      completedAt: new Date(0),
      tree: {},
      labels: {},
      nodes: { targeted: 2000, reported: 0, failed: 2000 },
      errors,
    });
    expect(pub.index.errors).to.have.length(501);
    expect(pub.index.errors.at(-1)).to.equal('1500 more errors left out');
  });

  it('leaves out a pod that alone cannot fit, names it, and publishes the rest', () => {
    // Two nodes claim one pod (one pod runs on one node: one of them lies), 200 containers each; 50 other pods.
    const trees = bigTree(50, 2, 2);
    const [bigNs, bigPod] = ['shop', 'claimed-0'];
    trees.forEach((t, i) => {
      const ids = Object.values(Object.values(bigTree(1, 200, 1)[0]!.tree)[0]!)[0]!;
      expect(Object.keys(ids), `node ${i}'s claim`).to.have.length(200);
      (t.tree[bigNs] ??= {})[bigPod] = ids;
    });
    const merger = new TreeMerger();
    for (const t of trees) merger.add(t.node, t.tree);
    const merged = merger.result();
    // The limit: the largest of the ordinary pods fits, the claimed pod does not (measured, not assumed).
    const alone = (ns: string, pod: string) => shardTree({ [ns]: { [pod]: merged.tree[ns]![pod]! } }, 1e9);
    const sizes = Object.entries(merged.tree).flatMap(([ns, pods]) =>
      Object.keys(pods).map((pod) => ({ ns, pod, bytes: alone(ns, pod).shards[0]!.gzip.length })),
    );
    const bigBytes = sizes.find((x) => x.ns === bigNs && x.pod === bigPod)!.bytes;
    const limit = Math.max(...sizes.filter((x) => x.bytes < bigBytes).map((x) => x.bytes)) * 4;
    expect(bigBytes).to.be.greaterThan(limit);

    const input = () => ({
      namespace: 'n',
      scan: 's',
      run: 's-3',
      completedAt: new Date(0),
      tree: merged.tree,
      labels: {},
      nodes: { targeted: 2, reported: 2, failed: 0 },
      errors: ['node worker-9: scanner pod not ready within 2m0s'],
      maxShardBytes: limit,
      nodesOf: (ns: string, pod: string) => merger.nodesOf(ns, pod),
    });
    const pub = buildPublication(input());
    const podContainers = Object.keys(merged.tree[bigNs]![bigPod]!).length;
    expect(pub.omitted).to.deep.equal([
      { namespace: bigNs, pod: bigPod, containers: podContainers, bytes: bigBytes, nodes: ['worker-0', 'worker-1'] },
    ]);
    expect(pub.index.errors).to.deep.equal([
      'node worker-9: scanner pod not ready within 2m0s',
      `pod ${bigNs}/${bigPod} left out of the published result: its ${podContainers} container(s), reported by ` +
        `nodes worker-0, worker-1, alone compress to ${bigBytes} bytes, above the shard limit of ${limit} bytes`,
    ]);
    // Everything else is published, whole.
    const back = readPublication(pub.configMaps.at(-1)!, pub.configMaps);
    const rest = structuredClone(merged.tree);
    delete rest[bigNs]![bigPod];
    if (!Object.keys(rest[bigNs]!).length) delete rest[bigNs];
    expect(back.tree).to.deep.equal(rest);
    expect(pub.index.containers).to.equal(merged.containers - podContainers);
    // The rest is sharded as if the pod had never been there.
    expect(pub.index.shards.map((x) => x.sha256)).to.deep.equal(
      buildPublication({ ...input(), tree: rest }).index.shards.map((x) => x.sha256),
    );
  });

  it('rejects an index of an unknown format', () => {
    expect(() => readPublication({ data: { [INDEX_KEY]: '{"format":"other"}' } }, [])).to.throw(
      /unknown result format/,
    );
  });
});
