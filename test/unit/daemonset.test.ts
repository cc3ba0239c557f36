import { expect } from 'chai';
import type { ContainerScan } from '../../controller/api/resources.js';
import { loadTemplate, renderDaemonSet } from '../../controller/reconcile/daemonset.js';

const scan: ContainerScan = {
  apiVersion: 'containerscanner.io/v1alpha1',
  kind: 'ContainerScan',
  metadata: { name: 'daily', namespace: 'scans', uid: 'uid-1', generation: 1 },
  spec: { nodeSelector: { 'kubernetes.io/os': 'linux' }, tolerations: [{ operator: 'Exists' }], concurrency: 4 },
};

describe('scanner DaemonSet from controller/scanner-daemonset.yaml', () => {
  const ds = renderDaemonSet(loadTemplate(), scan, 'daily-3', {
    scanner: 'reg/scanner:1',
    reporter: 'reg/controller:1',
  });
  const pod = ds.spec!.template.spec!;

  it('is named, labelled and owned for its run', () => {
    expect(ds.metadata).to.deep.include({ name: 'daily-3-scanner', namespace: 'scans' });
    expect(ds.metadata!.labels).to.include({
      'containerscanner.io/run': 'daily-3',
      'containerscanner.io/scan': 'daily',
      'containerscanner.io/component': 'scanner',
    });
    expect(ds.metadata!.ownerReferences).to.deep.equal([
      {
        apiVersion: 'containerscanner.io/v1alpha1',
        kind: 'ContainerScan',
        name: 'daily',
        uid: 'uid-1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(ds.spec!.selector.matchLabels).to.deep.equal({
      'containerscanner.io/run': 'daily-3',
      'containerscanner.io/component': 'scanner',
    });
    expect(ds.spec!.template.metadata!.labels).to.include(ds.spec!.selector.matchLabels!);
  });

  it('runs the privileged scanner as an init container and the unprivileged reporter after it', () => {
    expect(pod.hostPID).to.equal(true);
    const scanner = pod.initContainers!.find((c) => c.name === 'scanner')!;
    expect(scanner.image).to.equal('reg/scanner:1');
    expect(scanner.command).to.deep.equal([
      '/scan-containers',
      '--output',
      '/scan/scan.json',
      '--report',
      '/scan/report.json',
      '--pod-logs-dir',
      '/var/log/pods',
      '--concurrency',
      '4',
    ]);
    expect(scanner.securityContext!.privileged).to.equal(true);
    // Its image must stay unchanged: the scanner may execute /analyzer itself (vm.memfd_noexec=2).
    expect(scanner.securityContext!.readOnlyRootFilesystem).to.equal(true);
    // scan-containers writes $NODE_NAME into report.json, which the reporter checks against its own node.
    expect(scanner.env!.find((e) => e.name === 'NODE_NAME')!.valueFrom!.fieldRef!.fieldPath).to.equal('spec.nodeName');
    expect(scanner.volumeMounts!.find((m) => m.name === 'pod-logs')).to.include({
      mountPath: '/var/log/pods',
      readOnly: true,
    });
    const reporter = pod.containers.find((c) => c.name === 'reporter')!;
    expect(reporter.image).to.equal('reg/controller:1');
    expect(reporter.securityContext).to.deep.include({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
    });
    expect(reporter.securityContext!.capabilities!.drop).to.deep.equal(['ALL']);
    expect(reporter.env!.find((e) => e.name === 'RUN')!.value).to.equal('daily-3');
    expect(reporter.env!.find((e) => e.name === 'NODE_NAME')!.valueFrom!.fieldRef!.fieldPath).to.equal('spec.nodeName');
  });

  it('mounts the API token into the reporter only', () => {
    expect(pod.automountServiceAccountToken).to.equal(false);
    const mounts = (name: string) =>
      [...(pod.initContainers ?? []), ...pod.containers].find((c) => c.name === name)!.volumeMounts!.map((m) => m.name);
    expect(mounts('reporter')).to.include('api-token');
    expect(mounts('scanner')).to.not.include('api-token');
  });

  it("applies the scan's node selector and tolerations", () => {
    expect(pod.nodeSelector).to.deep.equal({ 'kubernetes.io/os': 'linux' });
    expect(pod.tolerations).to.deep.equal([{ operator: 'Exists' }]);
  });
});
