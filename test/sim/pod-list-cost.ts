/**
 * What observing a run's scanner pods costs the controller per reconcile: N pods as the DaemonSet controller makes
 * them (the rendered template, pinned to a node), with a kubelet-like status, listed the way the reconciler lists
 * them (full objects, a page of 500, a summary kept per node). Run against a control plane:
 *   KUBECONFIG=... npx tsx test/sim/pod-list-cost.ts [pods]
 */
import { makeClients } from '../../controller/kube/clients.js';
import { loadTemplate, renderDaemonSet } from '../../controller/reconcile/daemonset.js';
import { nodeOf, podProblem } from '../../controller/reconcile/pods.js';
import { paged } from '../../controller/kube/metadata.js';
import { inParallel } from '../../controller/util/parallel.js';
import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { ContainerScan } from '../../controller/api/resources.js';

const N = Number(process.argv[2] ?? 5000);
const kc = new KubeConfig();
kc.loadFromDefault();
const c = makeClients(kc);
const namespace = `podcost-${N}`;
const scan = {
  apiVersion: 'containerscanner.io/v1alpha1',
  kind: 'ContainerScan',
  metadata: { name: 'cost', namespace, uid: '00000000-0000-0000-0000-000000000000' },
  spec: {},
} as ContainerScan;
const ds = renderDaemonSet(loadTemplate(), scan, 'cost-1', { scanner: 'r/scanner:1', reporter: 'r/controller:1' });

async function setup(): Promise<void> {
  await c.core.createNamespace({ body: { metadata: { name: namespace } } }).catch(() => undefined);
  const sa = ds.spec!.template.spec!.serviceAccountName;
  if (sa)
    await c.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: sa } } }).catch(() => undefined);
  if ((await c.core.listNamespacedPod({ namespace, limit: 1 })).items.length) return; // made before
  const t0 = Date.now();
  await inParallel([...Array(N).keys()], 32, async (i) => {
    const node = `sim-node-${String(i).padStart(5, '0')}`;
    const pod: V1Pod = {
      metadata: { name: `cost-1-scanner-${i}`, labels: ds.spec!.template.metadata!.labels, ownerReferences: [] },
      spec: {
        ...structuredClone(ds.spec!.template.spec!),
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }],
            },
          },
        },
      },
    };
    const made = await c.core.createNamespacedPod({ namespace, body: pod });
    // What kubelet reports for a running scanner pod: its init container done, the reporter ready.
    const at = new Date();
    await c.core.replaceNamespacedPodStatus({
      namespace,
      name: made.metadata!.name!,
      body: {
        ...made,
        status: {
          phase: 'Running',
          hostIP: '10.0.0.1',
          podIP: '10.1.0.1',
          podIPs: [{ ip: '10.1.0.1' }],
          startTime: at,
          qosClass: 'Burstable',
          conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(
            (type) => ({ type, status: 'True', lastTransitionTime: at }),
          ),
          initContainerStatuses: [
            {
              name: 'scanner',
              image: 'r/scanner:1',
              imageID: 'r/scanner@sha256:' + 'a'.repeat(64),
              containerID: 'containerd://' + 'b'.repeat(64),
              ready: true,
              restartCount: 0,
              state: {
                terminated: {
                  exitCode: 0,
                  reason: 'Completed',
                  startedAt: at,
                  finishedAt: at,
                  containerID: 'containerd://' + 'b'.repeat(64),
                },
              },
            },
          ],
          containerStatuses: [
            {
              name: 'reporter',
              image: 'r/controller:1',
              imageID: 'r/controller@sha256:' + 'c'.repeat(64),
              containerID: 'containerd://' + 'd'.repeat(64),
              ready: true,
              restartCount: 0,
              started: true,
              state: { running: { startedAt: at } },
            },
          ],
        },
      },
    });
  });
  console.log(`made ${N} pods in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function listOnce(): Promise<{ ms: number; cpuMs: number; pages: number; ready: number }> {
  const t = Date.now();
  const cpu = process.cpuUsage();
  let pages = 0;
  const ready = new Set<string>();
  const problems = new Map<string, string>();
  for await (const pods of paged((cont) =>
    c.core.listNamespacedPod({
      namespace,
      labelSelector: 'containerscanner.io/run=cost-1,containerscanner.io/component=scanner',
      limit: 500,
      ...(cont ? { _continue: cont } : {}),
    }),
  )) {
    pages++;
    for (const p of pods) {
      const n = nodeOf(p)!;
      if (p.status?.phase === 'Running') ready.add(n);
      problems.set(n, podProblem(p));
    }
  }
  const u = process.cpuUsage(cpu);
  return { ms: Date.now() - t, cpuMs: (u.user + u.system) / 1000, pages, ready: ready.size };
}

await setup();
const page = await c.core.listNamespacedPod({ namespace, limit: 1 });
console.log(`one pod as JSON: ${JSON.stringify(page.items[0]).length} bytes`);
let rssPeak = 0;
const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
const rssBefore = process.memoryUsage().rss;
for (let i = 0; i < 5; i++) console.log(JSON.stringify(await listOnce()));
clearInterval(sampler);
console.log(
  `rss before ${(rssBefore / 2 ** 20).toFixed(0)} MiB, peak while listing ${(rssPeak / 2 ** 20).toFixed(0)} MiB`,
);
