/**
 * What a node scanner would write on a simulated node: about 16 containers in a few pods, with real-looking ids
 * (`containerd://<64 hex>`), namespaces and pod names, and values from a table of common images. Deterministic per
 * node and run, so a run can be checked against exactly what its reporters were given.
 */
import { createHash } from 'node:crypto';
import type { ContainerInfo, RuntimeTree } from '../../controller/api/scan-tree.js';

const IMAGES: ContainerInfo[] = [
  {
    'os-release-id': 'rhel',
    'os-release-version-id': '8.8',
    'runtime-kind': 'Java',
    'runtime-kind-version': '17.0.7',
    'runtime-kind-implementer': 'Red Hat, Inc.',
    'runtime-name': 'Quarkus',
    'runtime-version': '2.13.8.Final-redhat-00004',
    runtimes: [{ name: 'Quarkus', version: '2.13.8.Final-redhat-00004' }],
  },
  {
    'os-release-id': 'debian',
    'os-release-version-id': '12',
    'runtime-kind': 'Java',
    'runtime-kind-version': '21.0.5',
    'runtime-kind-implementer': 'Eclipse Adoptium',
    'runtime-name': 'Spring Boot',
    'runtime-version': '3.5.0',
    runtimes: [
      { name: 'Spring Boot', version: '3.5.0' },
      { name: 'Apache Tomcat', version: '10.1.41' },
    ],
  },
  {
    'os-release-id': 'alpine',
    'os-release-version-id': '3.20.3',
    'runtime-kind': 'Node.js',
    'runtime-kind-version': 'v20.18.1',
  },
  {
    'os-release-id': 'debian',
    'os-release-version-id': '12',
    'runtime-kind': 'Python',
    'runtime-kind-version': '3.12.8',
    'runtime-name': 'Flask',
    'runtime-version': '3.1.0',
    runtimes: [{ name: 'Flask', version: '3.1.0' }],
  },
  { 'runtime-kind': 'Golang', 'runtime-kind-version': 'go1.23.4' },
  {
    'os-release-id': 'ubuntu',
    'os-release-version-id': '24.04',
    'runtime-kind': 'PostgreSQL',
    'runtime-kind-version': '16.6',
  },
  { 'os-release-id': 'rhel', 'os-release-version-id': '9.4' },
  {},
];
const NAMESPACES = ['shop', 'payments', 'monitoring', 'kube-system', 'ingress', 'batch-jobs', 'default', 'search'];
const APPS = ['cart', 'checkout', 'api-gateway', 'prometheus', 'coredns', 'indexer', 'billing', 'web'];

function hex(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

/** Pods and containers a node runs in one run: 4 pods of 4 containers, 16 in all. */
export function nodeTree(node: string, run: string, pods = 4, containersPerPod = 4): RuntimeTree {
  const tree: RuntimeTree = {};
  for (let p = 0; p < pods; p++) {
    const h = hex(`${node}/${p}`);
    const pick = Number.parseInt(h.slice(0, 8), 16);
    const ns = NAMESPACES[pick % NAMESPACES.length]!;
    const app = APPS[(pick >> 4) % APPS.length]!;
    // A Deployment's pod: <app>-<10 hex of the ReplicaSet>-<5 chars>, unique per node.
    const pod = `${app}-${h.slice(8, 18)}-${h.slice(18, 23)}`;
    const ids: Record<string, ContainerInfo> = {};
    for (let c = 0; c < containersPerPod; c++) {
      const image = IMAGES[(pick + c * 3) % IMAGES.length]!;
      // A new container id per run (pods restart, nodes are rescanned), as kubelet would show it.
      ids[`containerd://${hex(`${node}/${p}/${c}/${run}`)}`] = structuredClone(image);
    }
    (tree[ns] ??= {})[pod] = ids;
  }
  return tree;
}

/** report.json as the node scanner writes it for that tree. */
export function nodeReport(node: string, tree: RuntimeTree): object {
  const containers = Object.entries(tree).flatMap(([namespace, pods]) =>
    Object.entries(pods).flatMap(([pod, ids]) =>
      Object.keys(ids).map((id) => ({ namespace, pod, id, status: 'scanned' })),
    ),
  );
  return {
    version: 1,
    node,
    startedAt: new Date().toISOString(),
    durationMs: 180 + containers.length * 3,
    containersFound: containers.length,
    containersScanned: containers.length,
    containersFailed: 0,
    containers,
  };
}

/** Output a broken scanner could leave: truncated JSON, or a container id that is none. */
export function garbageScanJson(node: string): string {
  return Number.parseInt(hex(node).slice(0, 2), 16) % 2
    ? '{"shop": {"cart-7d9": {"containerd://'
    : JSON.stringify({ shop: { 'cart-7d9': { 'containerd://zz': { 'runtime-kind': 'Java' } } } });
}
