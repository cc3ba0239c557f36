/**
 * Every manifest in config/ (and the scanner DaemonSet as the controller renders it) is validated by the real API
 * server with a server-side dry run: schemas, defaults, admission, RBAC rule syntax.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { expect } from 'chai';
import { KubernetesObjectApi } from '@kubernetes/client-node';
import type { ContainerScan } from '../../controller/api/resources.js';
import { loadTemplate, renderDaemonSet } from '../../controller/reconcile/daemonset.js';
import { makeClients } from '../../controller/kube/clients.js';
import {
  adminKubeConfig,
  apply,
  configFiles,
  ensureCrds,
  loadManifests,
  rawRequest,
  REPO,
  retarget,
  uniqueName,
} from './helpers.js';

describe('config/ manifests (server-side dry run)', function () {
  this.timeout(60_000);
  const kc = adminKubeConfig();
  const admin = makeClients(kc);
  const api = KubernetesObjectApi.makeApiClient(kc);
  const ns = uniqueName('cs-dry');
  let served: Set<string>;

  before(async () => {
    await ensureCrds(kc);
    // Namespaced objects can only be dry-run into a namespace that exists.
    await apply(kc, retarget(loadManifests(`${configFiles().find((f) => basename(f) === 'namespace.yaml')}`), ns));
    const groups = await admin.kc.makeApiClient((await import('@kubernetes/client-node')).ApisApi).getAPIVersions();
    served = new Set(['v1', ...groups.groups.flatMap((g) => g.versions.map((v) => v.groupVersion))]);
  });
  after(async () => {
    await admin.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  for (const file of configFiles()) {
    it(`${file.replace(/.*\/config\//, 'config/')} is accepted by the API server`, async () => {
      const objs = retarget(loadManifests(file), ns).filter((o) => o.kind !== 'Namespace');
      let checked = 0;
      for (const o of objs) {
        if (!served.has(o.apiVersion!)) {
          // Only OpenShift's SCC lives in a group a plain API server lacks; its contents are checked below.
          expect(o.kind, `${o.apiVersion} is not served`).to.equal('SecurityContextConstraints');
          continue;
        }
        await api.create(o, undefined, 'All');
        checked++;
      }
      expect(checked + objs.filter((o) => o.kind === 'SecurityContextConstraints').length).to.equal(objs.length);
    });
  }

  it('controller/scanner-daemonset.yaml as rendered for a run is accepted', async () => {
    const scan: ContainerScan = {
      apiVersion: 'containerscanner.io/v1alpha1',
      kind: 'ContainerScan',
      metadata: { name: 'dry', namespace: ns, uid: '00000000-0000-0000-0000-000000000001' },
      spec: { tolerations: [{ operator: 'Exists' }], concurrency: 2 },
    };
    const ds = renderDaemonSet(loadTemplate(), scan, 'dry-1', {
      scanner: 'localhost/scanner:1',
      reporter: 'localhost/controller:1',
    });
    const out = await api.create(ds, undefined, 'All');
    expect(out.spec!.template.spec!.initContainers![0]!.securityContext!.privileged).to.equal(true);
  });

  it('a ContainerScan with out-of-range values is rejected by the CRD schema', async () => {
    const bad = {
      apiVersion: 'containerscanner.io/v1alpha1',
      kind: 'ContainerScan',
      metadata: { name: 'bad', namespace: ns },
      spec: { historyLimit: 0, concurrency: 1000 },
    };
    try {
      await api.create(bad, undefined, 'All');
      expect.fail('accepted');
    } catch (e) {
      expect(String((e as { body?: unknown }).body))
        .to.match(/historyLimit/)
        .and.match(/concurrency/);
    }
  });

  it('the OpenShift SCC admits exactly what the scanner pod needs', () => {
    const [scc, role, binding] = loadManifests(configFiles().find((f) => f.endsWith('openshift/scc.yaml'))!) as Record<
      string,
      unknown
    >[];
    expect(scc).to.include({
      kind: 'SecurityContextConstraints',
      allowPrivilegedContainer: true,
      allowHostPID: true,
      allowHostNetwork: false,
      allowHostIPC: false,
      allowHostPorts: false,
      allowHostDirVolumePlugin: true,
    });
    expect(scc!.volumes).to.have.members(['emptyDir', 'hostPath', 'projected', 'secret']);
    expect((role as { rules: unknown[] }).rules).to.deep.equal([
      {
        apiGroups: ['security.openshift.io'],
        resources: ['securitycontextconstraints'],
        resourceNames: ['container-scanner'],
        verbs: ['use'],
      },
    ]);
    expect((binding as { subjects: unknown[] }).subjects).to.deep.equal([
      { kind: 'ServiceAccount', name: 'container-scanner-reporter', namespace: 'container-scanner' },
    ]);
    const pod = loadTemplate().spec!.template;
    expect(pod.metadata!.annotations!['openshift.io/required-scc']).to.equal((scc!.metadata as { name: string }).name);
  });

  // kubectl apply --server-side -f crds/, as the API server sees it: an apply patch in YAML, unknown fields refused.
  const serverSideApply = (name: string, yaml: string, dryRun = false) =>
    rawRequest(
      kc,
      'PATCH',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}` +
        `?fieldManager=cs-integration&force=true&fieldValidation=Strict${dryRun ? '&dryRun=All' : ''}`,
      yaml,
      'application/apply-patch+yaml',
    );

  for (const file of ['containerscans.yaml', 'scanresults.yaml']) {
    it(`crds/${file} passes server-side apply with strict field validation`, async () => {
      const yaml = readFileSync(`${REPO}crds/${file}`, 'utf8');
      const res = await serverSideApply(`${file.replace('.yaml', '')}.containerscanner.io`, yaml);
      expect([200, 201], res.body).to.include(res.code);
      const crd = JSON.parse(res.body) as {
        spec: { versions: { schema: { openAPIV3Schema: { description?: string } } }[] };
      };
      expect(crd.spec.versions[0]!.schema.openAPIV3Schema.description).to.be.a('string').and.not.equal('');
    });
  }

  it('strict validation catches a description that YAML reads as a flow mapping (the bug it guards against)', async () => {
    const yaml = readFileSync(`${REPO}crds/scanresults.yaml`, 'utf8');
    const broken = yaml.replace(
      /( +)duration:\n +type: string\n +description: "durationMs for people, for example 1.3s."\n/,
      '$1duration: { type: string, description: durationMs for people, e.g. 1.3s. }\n',
    );
    expect(broken).to.not.equal(yaml);
    const res = await serverSideApply('scanresults.containerscanner.io', broken, true);
    // The API server refuses it, naming the bogus key. Server-side apply types the document against the
    // CustomResourceDefinition type before any field validation, and answers a key that type does not declare
    // with HTTP 500 ("failed to create typed patch object ...: field not declared in schema"; 400 once
    // kubernetes/kubernetes#139253 is fixed), whatever fieldValidation says: a refusal of the input, not a fault of
    // the server, and the same with --validate=false. A create of the same document gives 400.
    expect([400, 500]).to.include(res.code);
    expect(res.body).to.contain(
      'failed to create typed patch object (/scanresults.containerscanner.io; apiextensions.k8s.io/v1, ' +
        'Kind=CustomResourceDefinition): .spec.versions[0].schema.openAPIV3Schema.properties.status.properties.' +
        'duration.e.g. 1.3s.: field not declared in schema',
    );
    const ignored = await rawRequest(
      kc,
      'PATCH',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/scanresults.containerscanner.io' +
        '?fieldManager=cs-integration&force=true&fieldValidation=Ignore&dryRun=All',
      broken,
      'application/apply-patch+yaml',
    );
    expect([ignored.code, ignored.body]).to.deep.equal([res.code, res.body]);
  });
});
