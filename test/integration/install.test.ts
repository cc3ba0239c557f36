/**
 * The install an admin makes, as kubectl makes it: `kubectl kustomize config/default` and config/openshift rendered
 * by the kubectl built from upstream (kustomize included), then `kubectl apply -k config/default --server-side
 * --validate=strict` against the real API server (a server dry run: the whole install with the node is
 * hack/k8s/demo-cluster's). The images are tagged with the project's version, never latest.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { loadAllYaml, type KubernetesObject, type V1Deployment } from '@kubernetes/client-node';
import { REPO, loadManifests } from './helpers.js';

function kubectlPath(): string {
  if (!process.env.K8S_BIN)
    throw new Error('K8S_BIN is not set: hack/test-integration sets it to the folder of the kubectl it built');
  return `${process.env.K8S_BIN}/kubectl`;
}

function kubectl(args: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(kubectlPath(), args, { cwd: REPO, input, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function render(dir: string): KubernetesObject[] {
  const yaml = execFileSync(kubectlPath(), ['kustomize', dir], { cwd: REPO, encoding: 'utf8' });
  return loadAllYaml(yaml).filter((o): o is KubernetesObject => !!o && typeof o === 'object');
}

const id = (o: KubernetesObject) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;

describe('install: kubectl apply -k config/default', function () {
  this.timeout(120_000);
  const version = (JSON.parse(readFileSync(`${REPO}package.json`, 'utf8')) as { version: string }).version;

  it('renders the CRDs, the namespace with its Pod Security labels, RBAC and the controller', () => {
    const objs = render('config/default');
    const kinds = objs.map((o) => o.kind);
    expect(kinds).to.include.members([
      'CustomResourceDefinition',
      'Namespace',
      'ServiceAccount',
      'Role',
      'RoleBinding',
      'ClusterRole',
      'ClusterRoleBinding',
      'Deployment',
    ]);
    expect(kinds, "the DaemonSet template is the controller's, not something to apply").to.not.include('DaemonSet');
    const crds = objs.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata!.name);
    expect(crds).to.have.members(['containerscans.containerscanner.io', 'scanresults.containerscanner.io']);
    const ns = objs.find((o) => o.kind === 'Namespace')!;
    expect(ns.metadata!.labels).to.include({ 'pod-security.kubernetes.io/enforce': 'privileged' });
    for (const o of objs)
      if (o.kind !== 'CustomResourceDefinition' && o.kind !== 'Namespace' && !o.kind!.startsWith('Cluster'))
        expect(o.metadata!.namespace, id(o)).to.equal(ns.metadata!.name);
  });

  it(`tags every image with the project version (${version}), in the pod and in the controller's settings`, () => {
    const deploy = render('config/default').find((o) => o.kind === 'Deployment') as V1Deployment;
    const containers = deploy.spec!.template.spec!.containers;
    const images = [
      ...containers.map((c) => c.image!),
      ...containers.flatMap((c) => (c.env ?? []).filter((e) => e.name.endsWith('_IMAGE')).map((e) => e.value!)),
    ];
    expect(images).to.have.length.of.at.least(2);
    for (const image of images)
      expect(image, image).to.match(
        new RegExp(`^localhost/container-scanner/(controller|scanner):${version.replace(/\./g, '\\.')}$`),
      );
    // Both images are named: the scanner's in the controller's settings (it hands it to each run's DaemonSet).
    expect(images.some((i) => i.includes('/scanner:'))).to.equal(true);
  });

  it('config/openshift is config/default plus the SecurityContextConstraints and the Role to use them', () => {
    const def = render('config/default').map(id);
    const os = render('config/openshift').map(id);
    const scc = loadManifests(`${REPO}config/openshift/scc.yaml`).map(id);
    expect(os).to.have.members([...def, ...scc]);
  });

  it('passes kubectl apply --server-side --validate=strict on the real API server (server dry run)', () => {
    // Namespaced objects can only be dry-run into a namespace that exists.
    const ns = kubectl(['create', 'namespace', 'container-scanner']);
    expect(ns.code === 0 || /AlreadyExists/.test(ns.err), ns.err).to.equal(true);
    const objs = render('config/default');
    const r = kubectl([
      'apply',
      '-k',
      'config/default',
      '--server-side',
      '--force-conflicts',
      '--validate=strict',
      '--dry-run=server',
      '--field-manager=container-scanner-install',
    ]);
    expect(r.code, r.err).to.equal(0);
    const applied = r.out.split('\n').filter((l) => / serverside-applied \(server dry run\)$/.test(l));
    expect(applied, r.out).to.have.length(objs.length);
  });

  it('strict validation is on: an unknown field in the install is refused by the API server', () => {
    const objs = render('config/default');
    const deploy = objs.find((o) => o.kind === 'Deployment') as V1Deployment & { spec: { replicaz?: number } };
    deploy.spec.replicaz = 3;
    const r = kubectl(
      [
        'apply',
        '-f',
        '-',
        '--server-side',
        '--force-conflicts',
        '--validate=strict',
        '--dry-run=server',
        '--field-manager=container-scanner-install',
      ],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs }),
    );
    expect(r.code).to.not.equal(0);
    expect(r.err).to.match(/replicaz/);
  });

  after(() => {
    kubectl(['delete', 'namespace', 'container-scanner', '--ignore-not-found', '--wait=false']);
  });
});
