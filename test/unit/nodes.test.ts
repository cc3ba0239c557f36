import { expect } from 'chai';
import type { V1Node } from '@kubernetes/client-node';
import { isTargeted } from '../../controller/reconcile/nodes.js';

const node = (
  labels: Record<string, string>,
  taints: V1Node['spec'] extends infer S ? (S extends { taints?: infer T } ? T : never) : never = [],
): V1Node => ({
  metadata: { name: 'n', labels },
  spec: { taints },
});

describe('node targeting', () => {
  it('follows the node selector', () => {
    expect(isTargeted(node({ 'kubernetes.io/os': 'linux' }), { 'kubernetes.io/os': 'linux' })).to.equal(true);
    expect(isTargeted(node({ 'kubernetes.io/os': 'windows' }), { 'kubernetes.io/os': 'linux' })).to.equal(false);
    expect(isTargeted(node({}), {})).to.equal(true);
  });

  it('skips nodes with taints the scanner does not tolerate, keeps the ones it does', () => {
    const master = node({}, [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
    expect(isTargeted(master)).to.equal(false);
    expect(
      isTargeted(master, {}, [
        { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
      ]),
    ).to.equal(true);
    expect(isTargeted(master, {}, [{ operator: 'Exists' }])).to.equal(true);
    const gpu = node({}, [{ key: 'gpu', value: 'a100', effect: 'NoExecute' }]);
    expect(isTargeted(gpu, {}, [{ key: 'gpu', operator: 'Equal', value: 'h100' }])).to.equal(false);
    expect(isTargeted(gpu, {}, [{ key: 'gpu', operator: 'Equal', value: 'a100' }])).to.equal(true);
    expect(isTargeted(node({}, [{ key: 'x', effect: 'PreferNoSchedule' }]))).to.equal(true);
  });

  it('leaves out unreachable nodes (NoSchedule taint) as the DaemonSet does, unless the scan tolerates them', () => {
    const gone = node({}, [
      { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' },
    ]);
    expect(isTargeted(gone)).to.equal(false);
    expect(isTargeted(gone, {}, [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists' }])).to.equal(true);
  });

  it('counts nodes that DaemonSet pods tolerate by default (cordoned, not ready)', () => {
    expect(isTargeted(node({}, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]))).to.equal(true);
    expect(isTargeted(node({}, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }]))).to.equal(true);
  });
});

describe('loadKubeConfig', () => {
  it('says what is missing when no API is configured', async () => {
    const { loadKubeConfig } = await import('../../controller/kube/clients.js');
    expect(() => loadKubeConfig({ HOME: '/nonexistent' })).to.throw(
      'no Kubernetes API configured: set KUBECONFIG, or run in a pod with a service account token',
    );
  });
});
